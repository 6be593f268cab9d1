"""Live publishing: the fleet over MQTT, driven by an injected clock.

One scheduler loop walks :meth:`Fleet.messages` in delivery order and hands every
message that is due (``ts <= clock.now()``) to its device's connection, sleeping on the
clock only when the next message lies in the future. At ``SimulatedClock(speed=50000)``
a month of a small fleet streams in well under a minute; at speed 1 it is a real-time
demo.

Every device has its own MQTT connection, because a last will belongs to a connection:
the broker publishes the device's will (``offline`` retained on
``aftercare/{home}/{device}/status`` for native devices; the format's own availability
topic for Zigbee2MQTT, Tasmota and Shelly devices) when the simulator dies. Each
connection reconnects with capped backoff after a broker restart, re-publishes its birth
messages (``online`` retained) and then what queued up meanwhile, in order; a bounded
queue per device drops its oldest messages (counted) rather than growing without limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

import aiomqtt

from aftercare.clock import Clock
from firmware_sim.fleet import Fleet, SimPublication
from firmware_sim.formats import ENCODERS
from firmware_sim.formats.base import Publication
from firmware_sim.formats.zigbee2mqtt import BASE_TOPIC, bridge_devices
from firmware_sim.spec import DeviceSpec, WireFormat

__all__ = ["LiveStats", "parse_broker_url", "run_live"]

logger = logging.getLogger(__name__)

_QUEUE_LIMIT: Final = 20_000
_BACKOFF_MAX_S: Final = 2.0


@dataclass(slots=True)
class LiveStats:
    """Counters of one live run."""

    published: int = 0
    dropped: int = 0
    reconnects: int = 0
    due: int = 0
    last_ts: datetime | None = None


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``tcp://``, or bare ``host:port``) to host and port."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"unsupported broker URL {url!r}; use mqtt://host:port")
    return parts.hostname, parts.port or 1883


class _Connection:
    """One MQTT connection with a last will, birth messages and a bounded queue."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        will: Publication,
        birth: list[Publication],
        stats: LiveStats,
        keepalive: int,
    ) -> None:
        self.host, self.port = host, port
        self.client_id = client_id
        self.will = will
        self.birth = birth
        self.stats = stats
        self.keepalive = keepalive
        self.queue: deque[SimPublication] = deque()
        self.wakeup = asyncio.Event()
        self.closing = False
        self.give_up_at = float("inf")

    def put(self, message: SimPublication) -> None:
        if len(self.queue) >= _QUEUE_LIMIT:
            self.queue.popleft()
            self.stats.dropped += 1
        self.queue.append(message)
        self.wakeup.set()

    async def run(self) -> None:
        """Connect, publish birth, drain the queue; reconnect on broker loss."""
        backoff = 0.1
        topic, payload, retain = self.will
        will = aiomqtt.Will(topic, payload, qos=1, retain=retain)
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=self.client_id,
                    will=will,
                    keepalive=self.keepalive,
                    timeout=5.0,
                ) as client:
                    backoff = 0.1
                    for b_topic, b_payload, b_retain in self.birth:
                        await client.publish(b_topic, b_payload, qos=1, retain=b_retain)
                    if await self._drain(client):
                        # a clean stop: say so, since the broker sends no will then
                        await client.publish(topic, payload, qos=1, retain=retain)
                        return
            except aiomqtt.MqttError as exc:
                if self.closing and asyncio.get_running_loop().time() > self.give_up_at:
                    # stopping with the broker away for long: what is left is lost, counted
                    self.stats.dropped += len(self.queue)
                    return
                self.stats.reconnects += 1
                logger.info("%s: broker unavailable (%s); retrying", self.client_id, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)

    async def _drain(self, client: aiomqtt.Client) -> bool:
        while True:
            while self.queue:
                message = self.queue[0]
                await client.publish(message.topic, message.payload, qos=1, retain=message.retain)
                self.queue.popleft()
                self.stats.published += 1
            if self.closing:
                return True
            self.wakeup.clear()
            await self.wakeup.wait()

    def close(self, grace_s: float) -> None:
        """Publish what is queued, then stop; give up after ``grace_s`` without a broker."""
        self.closing = True
        self.give_up_at = asyncio.get_running_loop().time() + grace_s
        self.wakeup.set()


def _connections(
    fleet: Fleet, host: str, port: int, prefix: str, stats: LiveStats, keepalive: int
) -> tuple[dict[str, _Connection], list[_Connection]]:
    by_device: dict[str, _Connection] = {}
    extra: list[_Connection] = []
    z2m: list[DeviceSpec] = []
    for device in fleet.devices:
        encoder = ENCODERS[device.wire_format](fleet.catalog)
        by_device[device.device_id] = _Connection(
            host=host,
            port=port,
            client_id=f"{prefix}{device.device_id}",
            will=encoder.will(device),
            birth=encoder.birth(device),
            stats=stats,
            keepalive=keepalive,
        )
        if device.wire_format is WireFormat.ZIGBEE2MQTT:
            z2m.append(device)
    if z2m:
        extra.append(
            _Connection(
                host=host,
                port=port,
                client_id=f"{prefix}zigbee2mqtt-bridge",
                will=(f"{BASE_TOPIC}/bridge/state", b'{"state":"offline"}', True),
                birth=[
                    (f"{BASE_TOPIC}/bridge/state", b'{"state":"online"}', True),
                    bridge_devices(z2m, fleet.catalog),
                ],
                stats=stats,
                keepalive=keepalive,
            )
        )
    return by_device, extra


async def run_live(
    fleet: Fleet,
    broker_url: str,
    clock: Clock,
    *,
    client_id_prefix: str = "aftercare-sim-",
    stop_event: asyncio.Event | None = None,
    duration: float | None = None,
    backfill: bool = False,
    keepalive: int = 10,
    close_grace_s: float = 15.0,
) -> LiveStats:
    """Publish the fleet live until its window ends, ``stop_event`` is set or ``duration``.

    Args:
        fleet: the fleet (each device publishes in its ``wire_format``).
        broker_url: ``mqtt://host:port``.
        clock: drives the schedule: ``SystemClock`` for real time, ``SimulatedClock`` at
            any speed.
        client_id_prefix: MQTT client ids are this plus the device id.
        stop_event: set it to stop.
        duration: stop after this many seconds of the clock's time.
        backfill: also publish the messages dated before ``clock.now()`` at start.
        keepalive: MQTT keepalive; the broker detects a silently dead simulator within
            1.5 × this (a killed process closes its sockets at once).
        close_grace_s: at the end, how long (real seconds) a connection whose broker is
            away keeps trying before its queued messages count as dropped.

    Returns:
        Counters of what was published, dropped, and how often connections came back.
    """
    host, port = parse_broker_url(broker_url)
    stats = LiveStats()
    by_device, extra = _connections(fleet, host, port, client_id_prefix, stats, keepalive)
    started = clock.now()
    until = started + timedelta(seconds=duration) if duration is not None else None
    stop = stop_event or asyncio.Event()
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(conn.run(), name=f"sim.live.{conn.client_id}")
            for conn in [*by_device.values(), *extra]
        ]
        begin = None if backfill else started
        for message in fleet.publications(begin, until):
            if stop.is_set():
                break
            now = clock.now()
            if message.ts > now:
                wait = (message.ts - now).total_seconds()
                if await _sleep_or_stop(clock, wait, stop):
                    break
            by_device[message.device_id].put(message)
            stats.due += 1
            stats.last_ts = message.ts
        for conn in [*by_device.values(), *extra]:
            conn.close(close_grace_s)
        logger.info(
            "live run ends: %s due, %s published, %s dropped",
            stats.due,
            stats.published,
            stats.dropped,
        )
        del tasks
    return stats


async def _sleep_or_stop(clock: Clock, seconds: float, stop: asyncio.Event) -> bool:
    """Sleep on the clock; True when ``stop`` was set meanwhile."""
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    stopper = asyncio.ensure_future(stop.wait())
    done, pending = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return stopper in done
