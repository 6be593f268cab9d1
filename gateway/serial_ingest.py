"""Serial ingest: Tuya MCU streaming and Modbus RTU polling over pyserial-asyncio-fast.

One task per port. A port that cannot be opened, or vanishes (USB adapter pulled, the
simulator's pty closed), raises :class:`SerialPortLost` inside the task, which reopens it
with capped exponential backoff and jitter, forever: a Modbus error never kills polling
(ThingsBoard gateway #2132). Bytes go through the adapter package's sans-IO hunting
framers, which skip garbage and resynchronise on the next valid header and checksum;
each skipped region is counted as ``aftercare_messages_total{result="crc"|"framing"}``.

Modbus RTU: the gateway is the bus master. One lock per bus (per port) serialises the
request/response transactions of every unit on it and a silence of ``request_gap_s``
(Home Assistant's 30 ms) separates them, so several slaves share one RS-485 line. We
speak RTU through our framer (built on pymodbus's RTU framer and CRC) rather than
pymodbus's client: the client reports a CRC error, a timeout and a garbled byte alike as
``ModbusIOException``, and Contract 5 counts CRC errors by name.

Tuya MCU: the gateway plays the Wi-Fi module: it asks for the product information once
per opening, then sends a heartbeat and a status query every ``heartbeat_s``; the MCU
reports datapoints on its own whenever they change.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from typing import Any, Final

import serial

from aftercare.clock import Clock
from device_adapters import ModbusRtuAdapter, ModbusRtuFramer, TuyaFramer, TuyaMcuAdapter
from device_adapters.framing import HuntingFramer
from device_adapters.tuya_mcu import (
    CMD_HEARTBEAT,
    CMD_PRODUCT_INFO,
    CMD_QUERY_STATUS,
    VERSION_MODULE,
    encode_frame,
)
from gateway.backoff import Backoff, wait_or_stop
from gateway.exceptions import SerialPortLost
from gateway.processing import Processor
from gateway.settings import SerialPortSettings

__all__ = ["SerialPortIngest"]

logger = logging.getLogger(__name__)

_SOURCE: Final = "serial"
_READ_SIZE: Final = 4096
_HEARTBEAT: Final = encode_frame(CMD_HEARTBEAT, version=VERSION_MODULE)
_PRODUCT_INFO: Final = encode_frame(CMD_PRODUCT_INFO, version=VERSION_MODULE)
_QUERY_STATUS: Final = encode_frame(CMD_QUERY_STATUS, version=VERSION_MODULE)


class SerialPortIngest:
    """Reads one serial port.

    Args:
        settings: the port, its protocol and timings.
        adapter: the configured adapter for that protocol.
        processor: where frames go.
        clock: time of receipt.
        rng: jitter source.
    """

    def __init__(
        self,
        settings: SerialPortSettings,
        adapter: ModbusRtuAdapter | TuyaMcuAdapter,
        processor: Processor,
        clock: Clock,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.adapter = adapter
        self.processor = processor
        self.clock = clock
        self.open = False
        self.opens = 0
        self.frames = 0
        self.last_error: str | None = None
        self.bus_lock = asyncio.Lock()
        self._backoff = Backoff(settings.reopen_min_s, settings.reopen_max_s, rng)

    @property
    def path(self) -> str:
        """The port's path."""
        return self.settings.path

    async def run(self, stop: asyncio.Event) -> None:
        """Read the port until ``stop``; reopen it whenever it is lost."""
        while not stop.is_set():
            try:
                await self._session(stop)
            except SerialPortLost as exc:
                self.open, self.last_error = False, str(exc)
                delay = self._backoff.next_delay()
                logger.warning("%s; reopening in %.2f s", exc, delay)
                await wait_or_stop(stop, delay)

    async def _session(self, stop: asyncio.Event) -> None:
        reader, writer = await self._open()
        self.open, self.last_error = True, None
        self.opens += 1
        self._backoff.reset()
        logger.info("serial port %s open (%s)", self.path, self.settings.protocol)
        try:
            if isinstance(self.adapter, ModbusRtuAdapter):
                await self._poll_modbus(reader, writer, stop, self.adapter)
            else:
                await self._stream_tuya(reader, writer, stop)
        except (OSError, serial.SerialException) as exc:
            raise SerialPortLost(self.path, f"{type(exc).__name__}: {exc}") from exc
        finally:
            writer.close()
            self.open = False

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        import serial_asyncio_fast  # deferred: only serial hubs need it

        try:
            return await serial_asyncio_fast.open_serial_connection(
                url=self.path, baudrate=self.settings.baudrate
            )
        except (OSError, serial.SerialException) as exc:
            raise SerialPortLost(self.path, f"cannot open: {exc}") from exc

    # ------------------------------------------------------------------ Tuya MCU

    async def _stream_tuya(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stop: asyncio.Event
    ) -> None:
        framer = TuyaFramer()
        writer.write(_PRODUCT_INFO + _QUERY_STATUS)
        heartbeat = asyncio.create_task(
            self._heartbeat(writer, stop), name=f"gateway.ingest.serial.heartbeat:{self.path}"
        )
        try:
            await self._read_frames(reader, framer, stop)
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, writer: asyncio.StreamWriter, stop: asyncio.Event) -> None:
        while not await wait_or_stop(stop, self.settings.heartbeat_s):
            writer.write(_HEARTBEAT + _QUERY_STATUS)

    async def _read_frames(
        self, reader: asyncio.StreamReader, framer: HuntingFramer, stop: asyncio.Event
    ) -> None:
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                read = asyncio.ensure_future(reader.read(_READ_SIZE))
                await asyncio.wait({read, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not read.done():
                    read.cancel()
                    return
                data = read.result()
                if not data:
                    raise SerialPortLost(self.path, "end of stream (device gone)")
                await self._feed(framer, data)
        finally:
            stopper.cancel()

    async def _feed(self, framer: HuntingFramer, data: bytes) -> int:
        frames = framer.feed(data)
        for reason, n in framer.take_errors().items():
            self.processor.count_rejects(_SOURCE, self.adapter.name, reason.value, n)
        now = self.clock.now()
        for frame in frames:
            self.frames += 1
            await self.processor.handle_frame(_SOURCE, self.adapter, self.path, frame, now)
        return len(frames)

    # ------------------------------------------------------------------ Modbus RTU

    async def _poll_modbus(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stop: asyncio.Event,
        adapter: ModbusRtuAdapter,
    ) -> None:
        framer = ModbusRtuFramer(units=adapter.units_on(self.path))
        requests = [d.request for (port, _), d in adapter.devices.items() if port == self.path]
        if not requests:
            logger.warning("no Modbus devices configured on %s", self.path)
        while not stop.is_set():
            await self._poll_round(reader, writer, framer, requests)
            if await wait_or_stop(stop, self.settings.poll_interval_s):
                return

    async def _poll_round(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        framer: HuntingFramer,
        requests: Sequence[bytes],
    ) -> None:
        for request in requests:
            async with self.bus_lock:
                writer.write(request)
                await writer.drain()
                await self._await_response(reader, framer)
                # the bus stays silent between transactions so slaves see a frame boundary
                await asyncio.sleep(self.settings.request_gap_s)

    async def _await_response(self, reader: asyncio.StreamReader, framer: HuntingFramer) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.response_timeout_s
        while (left := deadline - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(_READ_SIZE), left)
            except TimeoutError:
                break
            if not data:
                raise SerialPortLost(self.path, "end of stream (device gone)")
            if await self._feed(framer, data):
                return
        # no answer: a partial frame will never complete, and counts as framing garbage
        framer.flush()
        for reason, n in framer.take_errors().items():
            self.processor.count_rejects(_SOURCE, self.adapter.name, reason.value, n)
        self.processor.count_rejects(_SOURCE, self.adapter.name, "timeout", 1)

    def health(self) -> dict[str, Any]:
        """This port's part of ``/healthz``."""
        return {
            "path": self.path,
            "protocol": self.settings.protocol,
            "ok": self.open,
            "opens": self.opens,
            "frames": self.frames,
            "last_error": self.last_error,
        }
