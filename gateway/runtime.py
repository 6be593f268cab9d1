"""The gateway process: every component in one ``asyncio.TaskGroup`` with named tasks.

Shutdown is two-phase so nothing held is lost: when ``stop`` is set, ingest stops taking
messages and the pipeline drains and acknowledges what it holds (faults reach the
outbox); only then are the sinks told to finish: the store flushes its buffer, the
forwarder makes a last bounded pass, and the health server closes.

Embedding (the demo, end-to-end tests)::

    async with GatewayRuntime(settings, clock=clock) as gateway:
        ...  # gateway.http_port, gateway.metrics, gateway.outbox
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Any, Self

from aftercare.clock import Clock, SystemClock
from device_adapters import (
    AdapterConfigError,
    DeviceAdapter,
    HaDiscoveryAdapter,
    ModbusRtuAdapter,
    TuyaMcuAdapter,
    build_adapter,
)
from device_adapters.ha_discovery import BIRTH_PAYLOAD
from gateway.backoff import wait_or_stop
from gateway.exceptions import ConfigError
from gateway.forwarder import Forwarder
from gateway.http import HealthServer
from gateway.metrics import GatewayMetrics
from gateway.mqtt import MqttIngest
from gateway.outbox import AsyncOutbox, Outbox
from gateway.pipeline import FaultDetector, Pipeline
from gateway.processing import Processor
from gateway.serial_ingest import SerialPortIngest
from gateway.settings import GatewaySettings
from gateway.store import TelemetryStore

__all__ = ["GatewayRuntime", "build_adapters", "run_gateway"]

logger = logging.getLogger(__name__)


def build_adapters(settings: GatewaySettings) -> dict[str, DeviceAdapter]:
    """The configured adapters by name.

    Raises:
        ConfigError: an adapter is unknown (the message lists the valid names) or its
            table is invalid.
    """
    adapters: dict[str, DeviceAdapter] = {}
    for name, table in settings.adapters.items():
        try:
            adapters[name] = build_adapter(name, table)
        except AdapterConfigError as exc:
            raise ConfigError(str(exc)) from exc
    for port in settings.serial:
        if port.protocol not in adapters:
            raise ConfigError(
                f"serial port {port.path} speaks {port.protocol} but [adapters.{port.protocol}]"
                " is not configured"
            )
    return adapters


def _default_detector(settings: GatewaySettings) -> FaultDetector:
    from anomaly import FaultEngine
    from anomaly.fleet import FleetModelLoader

    path = settings.pipeline.fleet_models
    return FaultEngine(model_loader=FleetModelLoader(path) if path is not None else None)


class GatewayRuntime:
    """One gateway: ingest, pipeline, outbox, forwarder, store, health and metrics.

    Args:
        settings: the validated settings.
        clock: the time source (receipt times, the sweep); the system clock by default.
        detector: the fault detector; ``anomaly.FaultEngine()`` by default.
    """

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        clock: Clock | None = None,
        detector: FaultDetector | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.metrics = GatewayMetrics()
        adapters = build_adapters(settings)
        p = settings.pipeline
        self.pipeline = Pipeline(
            list(adapters.values()),
            detector or _default_detector(settings),
            lateness_s=p.lateness_s,
            dedup_window=p.dedup_window,
            max_devices=p.max_devices,
        )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.outbox = AsyncOutbox(
            Outbox(
                settings.data_dir / "outbox.sqlite3",
                max_rows=settings.outbox.max_rows,
                max_bytes=settings.outbox.max_bytes,
            )
        )
        self.metrics.outbox_depth.set(self.outbox.depth)
        self.store = (
            TelemetryStore(settings.store, self.metrics) if settings.store.enabled else None
        )
        self.processor = Processor(self.pipeline, self.metrics, self.outbox, self.store)
        self.forwarder = Forwarder(settings.forwarder, self.outbox, self.metrics, self.clock)
        self.mqtt = (
            MqttIngest(
                settings.mqtt,
                self.pipeline.topic_filters,
                self.metrics,
                birth=_birth_message(adapters),
            )
            if settings.mqtt.enabled
            else None
        )
        self.serial = [
            SerialPortIngest(
                port, _serial_adapter(adapters, port.protocol), self.processor, self.clock
            )
            for port in settings.serial
        ]
        self.http = HealthServer(
            settings.http_host, settings.http_port, self.health, self.metrics.render
        )
        self.stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def http_port(self) -> int:
        """The health server's port (the bound one when 0 was configured)."""
        return self.http.port

    async def run(self) -> None:
        """Run until :attr:`stop` is set, then shut down gracefully."""
        sinks_stop = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.http.serve(sinks_stop), name="gateway.http")
                tg.create_task(self.forwarder.run(sinks_stop), name="gateway.forwarder")
                if self.store is not None:
                    tg.create_task(self.store.run(sinks_stop), name="gateway.store")
                tg.create_task(self._sweep(self.stop), name="gateway.sweep")
                ingest = [
                    tg.create_task(port.run(self.stop), name=f"gateway.ingest.serial:{port.path}")
                    for port in self.serial
                ]
                if self.mqtt is not None:
                    ingest.append(
                        tg.create_task(self.mqtt.run(self.stop), name="gateway.ingest.mqtt")
                    )
                    ingest.append(
                        tg.create_task(self._consume_mqtt(self.mqtt), name="gateway.pipeline")
                    )
                await self.stop.wait()
                await asyncio.gather(*ingest)
                logger.info("ingest drained; flushing the store and the outbox")
                sinks_stop.set()
        finally:
            await self.outbox.close()
            logger.info("gateway stopped (outbox depth %d)", self.outbox.depth)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self.run(), name="gateway.runtime")
        started = asyncio.ensure_future(self.http.started.wait())
        await asyncio.wait({started, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            started.cancel()
            self._task.result()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop.set()
        if self._task is not None:
            await self._task

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Per-component health: broker, serial ports, outbox, store, cloud."""
        components: dict[str, Any] = {}
        if self.mqtt is not None:
            components["broker"] = {
                "ok": self.mqtt.connected,
                "broker": self.mqtt.broker,
                "queued": self.mqtt.queued,
                "last_error": self.mqtt.last_error,
            }
        if self.serial:
            components["serial"] = [port.health() for port in self.serial]
        depth = self.outbox.depth
        components["outbox"] = {
            "ok": depth < self.settings.outbox.max_rows,
            "depth": depth,
            "max_rows": self.settings.outbox.max_rows,
        }
        if self.store is not None:
            components["store"] = {
                "ok": self.store.healthy is not False,
                "buffered": self.store.buffered,
                "last_error": self.store.last_error,
            }
        status = self.forwarder.status
        components["cloud"] = {
            "ok": status.reachable is not False,
            "configured": self.settings.forwarder.cloud_url is not None,
            "reachable": status.reachable,
            "last_ok_at": status.last_ok_at.isoformat() if status.last_ok_at else None,
            "last_error": status.last_error,
        }
        healthy = all(
            all(p["ok"] for p in c) if isinstance(c, list) else c["ok"] for c in components.values()
        )
        return healthy, {"status": "ok" if healthy else "degraded", "components": components}

    async def _consume_mqtt(self, ingest: MqttIngest) -> None:
        handle = self.processor.handle_batch
        pipeline = self.pipeline
        learned = pipeline.learned_version
        while (batch := await ingest.next_batch()) is not None:
            await handle("mqtt", [(m.topic, m.payload) for m in batch], self.clock.now())
            ingest.ack(batch)
            # next_batch and handle return without suspending while messages are queued;
            # yield once per batch, or a backlog would starve the socket reader, /healthz
            # and the forwarder until it is gone
            await asyncio.sleep(0)
            if pipeline.learned_version != learned:
                # a discovery config named new state topics (or dropped some)
                learned = pipeline.learned_version
                ingest.follow(pipeline.learned_topics)

    async def _sweep(self, stop: asyncio.Event) -> None:
        interval = self.settings.pipeline.sweep_interval_s
        while not await wait_or_stop(stop, interval):
            try:
                faults = self.pipeline.sweep(self.clock.now())
                await self.processor.queue_faults(faults)
            except Exception:  # broad on purpose: the sweep must outlive one bad round
                logger.exception("sweep failed")
                self.metrics.messages.labels(
                    source="sweep", adapter="none", result="internal_error"
                ).inc()


def _birth_message(adapters: dict[str, DeviceAdapter]) -> tuple[str, bytes] | None:
    """Home Assistant's birth message, when a discovery adapter is configured."""
    adapter = adapters.get(HaDiscoveryAdapter.name)
    if not isinstance(adapter, HaDiscoveryAdapter):
        return None
    return f"{adapter.discovery_prefix}/status", BIRTH_PAYLOAD


def _serial_adapter(
    adapters: dict[str, DeviceAdapter], protocol: str
) -> ModbusRtuAdapter | TuyaMcuAdapter:
    adapter = adapters[protocol]
    if not isinstance(adapter, ModbusRtuAdapter | TuyaMcuAdapter):
        raise ConfigError(f"{protocol} is not a serial protocol")
    return adapter


async def run_gateway(
    settings: GatewaySettings,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    *,
    detector: FaultDetector | None = None,
) -> None:
    """Run a gateway until ``stop`` is set (forever when None)."""
    runtime = GatewayRuntime(settings, clock=clock, detector=detector)
    if stop is not None:
        waiter = asyncio.ensure_future(_relay(stop, runtime.stop))
        try:
            await runtime.run()
        finally:
            waiter.cancel()
    else:
        await runtime.run()


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
