"""MQTT ingest: the one module that wraps aiomqtt (pinned ``<3``; 3.0 drops paho).

What it guarantees:

* **Persistent session, QoS 1.** A fixed client id with ``clean_start=False`` and a
  session expiry (MQTT 5) or ``clean_session=False`` (3.1.1, for amqtt), so the broker
  queues what devices publish while the gateway is away and delivers it on reconnect.
* **Reconnect forever** with capped exponential backoff and jitter, resubscribing every
  filter (optionally as ``$share/<group>/<filter>`` so several gateways split a stream).
* **Back-pressure instead of loss.** Messages are acknowledged only after the pipeline
  handled them (paho's manual ack). MQTT 5's Receive Maximum asks the broker to stop at
  ``queue_size`` unacknowledged, and since Mosquitto 2.0 overshoots it (and 3.1.1 has no
  such window) the ingest also stops reading the socket while its queue is full ([4]):
  TCP then makes the broker hold the rest, so memory stays flat however slow the pipeline
  is. Only past twice the bound is a message dropped, acknowledged ([3]) and counted as
  ``result="queue_full"``.
* **Learned topics.** Topics known only at run time (the state topics a Home Assistant
  discovery config names) are passed to :meth:`MqttIngest.follow`; a small task of the
  connection subscribes to them (and unsubscribes forgotten ones) without ever blocking
  the pipeline, and they are subscribed again on every reconnect. When a discovery
  adapter is configured the ingest publishes Home Assistant's birth message after each
  connect, so publishers that do not retain their configs send them again.
* **Batches.** aiomqtt's ``async for message in client.messages`` costs a future and a
  task per message, about half of paho's rate before any work (PERF_LIMITS.md). Here
  paho's message callback appends the raw message to a deque and the pipeline takes whole
  batches, so the per-message cost is paho's parse plus one append.

The places that reach inside aiomqtt (``Client._client``, the paho client: to turn on
manual acks, to install the message callback and to read several packets per socket
wake-up, see [1] and [2] below) are here and nowhere else; a move to aiomqtt 3 touches
this file only.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from device_adapters import topic_matches
from gateway.backoff import Backoff, wait_or_stop
from gateway.exceptions import BrokerUnavailable
from gateway.metrics import GatewayMetrics
from gateway.settings import MqttSettings

__all__ = ["Inbound", "MqttIngest", "subscription_filters"]

logger = logging.getLogger(__name__)

_DRAIN_TIMEOUT_S: Final = 10.0
_QUEUE_FULL_LOG_EVERY: Final = 1000
_READS_PER_WAKE: Final = 256
_TOPICS_PER_SUBSCRIBE: Final = 100


@dataclass(slots=True)
class Inbound:
    """One received message.

    Attributes:
        topic: the topic.
        payload: the raw payload.
        mid: the packet id (for the acknowledgement).
        qos: the delivery QoS.
        session: the connection it arrived on (acks for an older one are meaningless).
    """

    topic: str
    payload: bytes
    mid: int
    qos: int
    session: int


def subscription_filters(filters: Sequence[str], shared_group: str | None) -> list[str]:
    """The filters to subscribe, as shared subscriptions when a group is set."""
    if not shared_group:
        return list(filters)
    return [f"$share/{shared_group}/{f}" for f in filters]


def _read_many(ingest: MqttIngest, read_one: Callable[[], int]) -> int:
    rc = 0
    for _ in range(_READS_PER_WAKE):
        before = ingest.received
        rc = read_one()
        if rc != 0 or ingest.received == before or ingest.paused:
            break
    return rc


class MqttIngest:
    """Receives from the broker and hands batches to the pipeline.

    Args:
        settings: the broker and ingest settings.
        topic_filters: what the adapters claim (``Pipeline.topic_filters``).
        metrics: the runtime's metrics (for ``queue_full``).
        rng: jitter source.
        birth: ``(topic, payload)`` published (QoS 1) after every connect, or None.
    """

    def __init__(
        self,
        settings: MqttSettings,
        topic_filters: Sequence[str],
        metrics: GatewayMetrics,
        *,
        rng: random.Random | None = None,
        birth: tuple[str, bytes] | None = None,
    ) -> None:
        self.settings = settings
        self.static_filters = list(topic_filters)
        self.filters = subscription_filters(topic_filters, settings.shared_group)
        self.birth = birth
        self.followed: frozenset[str] = frozenset()
        self.subscribed_learned: frozenset[str] = frozenset()
        self._follow_changed = asyncio.Event()
        self.metrics = metrics
        self.connected = False
        self.last_error: str | None = None
        self.connects = 0
        self.dropped = 0
        self.received = 0
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s, rng)
        self._buffer: deque[Inbound] = deque()
        self._ready = asyncio.Event()
        self._session = 0
        self._paho: Any = None
        self._closing = False
        self._finished = False
        self._unacked = 0
        self._drained = asyncio.Event()
        # pausing the socket at queue_size ([4]) is the real bound; this one only guards
        # against packets already read in the same wake-up, so in practice nothing drops
        self._hard_limit = 2 * settings.queue_size
        self.paused = False
        self.pauses = 0
        self._queue_full = metrics.messages.labels(
            source="mqtt", adapter="none", result="queue_full"
        )

    @property
    def broker(self) -> str:
        """``host:port`` of the broker."""
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def queued(self) -> int:
        """Messages waiting for the pipeline."""
        return len(self._buffer)

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, subscribe and receive until ``stop``; reconnect whenever the link drops."""
        client = self._client()
        try:
            while not stop.is_set():
                try:
                    await self._session_once(client, stop)
                except BrokerUnavailable as exc:
                    self.connected, self.last_error = False, str(exc)
                    self._forget_session()
                    delay = self._backoff.next_delay()
                    logger.warning("%s; reconnecting in %.1f s", exc, delay)
                    await wait_or_stop(stop, delay)
        finally:
            self.connected = False
            self._finished = True
            self._ready.set()

    async def next_batch(self) -> list[Inbound] | None:
        """The next batch (at most ``batch_size``); None once ingest has stopped and drained."""
        while not self._buffer:
            if self._finished:
                return None
            self._ready.clear()
            await self._ready.wait()
        size = min(len(self._buffer), self.settings.batch_size)
        pop = self._buffer.popleft
        batch = [pop() for _ in range(size)]
        if self.paused and len(self._buffer) <= self.settings.queue_size // 2:
            self._resume()
        return batch

    def follow(self, topics: Iterable[str]) -> None:
        """Receive ``topics`` too (learned at run time); stop receiving those left out.

        Topics a static filter already covers are not subscribed again (the broker would
        deliver such a message once per matching subscription).
        """
        statics = self.static_filters
        self.followed = frozenset(
            t for t in topics if not any(topic_matches(f, t) for f in statics)
        )
        self._follow_changed.set()

    def ack(self, batch: Sequence[Inbound]) -> None:
        """The pipeline is done with ``batch``: acknowledge it to the broker."""
        client = self._paho
        session = self._session
        current = 0
        for message in batch:
            if message.session != session:
                continue  # its connection is gone; the broker redelivers it
            current += 1
            if message.qos and client is not None:
                client.ack(message.mid, message.qos)
        self._unacked -= current
        if self._closing and not self._buffer:
            self._drained.set()

    # ------------------------------------------------------------------ connection

    def _client(self) -> aiomqtt.Client:
        s = self.settings
        v5 = s.protocol == "5"
        properties = None
        if v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = s.session_expiry_s
            properties.ReceiveMaximum = s.queue_size
        client = aiomqtt.Client(
            s.host,
            s.port,
            identifier=s.client_id,
            username=s.username,
            password=s.password,
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            clean_session=None if v5 else False,
            # paho refuses clean_start on 3.1.1, where clean_session=False does the job
            clean_start=False if v5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
            keepalive=s.keepalive_s,
            properties=properties,
            timeout=10.0,
        )
        # [1] Reaching into aiomqtt: manual acks are what make back-pressure possible
        # (nothing is acknowledged before the pipeline handled it), and our own message
        # callback skips aiomqtt's per-message Message/Topic objects and queue future.
        self._paho = client._client
        self._paho.manual_ack_set(True)
        self._paho.on_message = self._on_message
        # [2] aiomqtt's socket reader calls loop_read() once per wake-up, and paho reads
        # one packet per call, so every message paid a whole event-loop iteration and the
        # pipeline never saw a batch. Reading on while packets keep completing turns one
        # wake-up into up to _READS_PER_WAKE messages; exceptions still reach aiomqtt.
        self._paho.loop_read = functools.partial(_read_many, self, self._paho.loop_read)
        return client

    async def _session_once(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        # numbered before connecting: a resumed session's queued messages follow the
        # CONNACK in the same read, before the body below runs, and must already carry
        # the new number or their acks would be skipped as stale (never acknowledged,
        # redelivered after every restart, and a shutdown waiting for them in vain)
        self._session += 1
        try:
            async with client:
                self.paused = False  # aiomqtt registered its reader on the new socket
                for topic_filter in self.filters:
                    await client.subscribe(topic_filter, qos=1)
                if self.birth is not None:
                    await client.publish(self.birth[0], self.birth[1], qos=1)
                self.connected, self.last_error = True, None
                self.connects += 1
                self._backoff.reset()
                logger.info(
                    "connected to %s as %s (session %d), subscribed to %s",
                    self.broker,
                    self.settings.client_id,
                    self._session,
                    ", ".join(self.filters),
                )
                self.subscribed_learned = frozenset()
                follower = asyncio.create_task(
                    self._follow_learned(client), name="gateway.ingest.mqtt.follow"
                )
                try:
                    await self._until_stop_or_disconnect(client, stop)
                finally:
                    follower.cancel()
                if stop.is_set():
                    await self._drain_before_disconnect()
        except aiomqtt.MqttError as exc:
            raise BrokerUnavailable(self.broker, str(exc)) from exc

    async def _follow_learned(self, client: aiomqtt.Client) -> None:
        # its own task: awaiting a SUBACK in the pipeline's task could deadlock, since
        # the socket is not read while the ingest queue is full ([4])
        group = self.settings.shared_group
        try:
            while True:
                self._follow_changed.clear()
                wanted, current = self.followed, self.subscribed_learned
                gone, new = sorted(current - wanted), sorted(wanted - current)
                for i in range(0, len(gone), _TOPICS_PER_SUBSCRIBE):
                    chunk = subscription_filters(gone[i : i + _TOPICS_PER_SUBSCRIBE], group)
                    await client.unsubscribe(chunk)
                for i in range(0, len(new), _TOPICS_PER_SUBSCRIBE):
                    chunk = subscription_filters(new[i : i + _TOPICS_PER_SUBSCRIBE], group)
                    await client.subscribe([(t, 1) for t in chunk])
                self.subscribed_learned = wanted
                if new or gone:
                    logger.info(
                        "following %d learned topics (%d new, %d gone)",
                        len(wanted),
                        len(new),
                        len(gone),
                    )
                await self._follow_changed.wait()
        except aiomqtt.MqttError as exc:
            # the connection is going; the next one subscribes everything again
            logger.debug("learned subscriptions interrupted: %s", exc)

    async def _until_stop_or_disconnect(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        # our callback bypasses aiomqtt's queue, so this iterator never yields: it only
        # raises MqttError when the connection drops, which is what we wait for here
        async def watch() -> None:
            async for _ in client.messages:
                pass

        watcher = asyncio.create_task(watch(), name="gateway.ingest.mqtt.watch")
        stopper = asyncio.create_task(stop.wait(), name="gateway.ingest.mqtt.stop")
        try:
            await asyncio.wait({watcher, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not watcher.done():
                watcher.cancel()
        if watcher.done() and not watcher.cancelled():
            watcher.result()  # re-raises the MqttError of a dropped connection

    async def _drain_before_disconnect(self) -> None:
        """Let the pipeline finish and acknowledge what it holds, then disconnect."""
        self._closing = True
        if not self._buffer and self._unacked <= 0:
            return
        self._drained.clear()
        try:
            await asyncio.wait_for(self._drained.wait(), _DRAIN_TIMEOUT_S)
        except TimeoutError:
            logger.warning("pipeline did not drain in time; the broker will redeliver")

    def _forget_session(self) -> None:
        # unacknowledged messages of a lost connection are redelivered by the broker on
        # the next one; handling them now as well would only create duplicates
        dropped = len(self._buffer)
        self._buffer.clear()
        self._unacked = 0
        self.paused = False
        if dropped:
            logger.info("dropped %d unacknowledged messages; the broker will redeliver", dropped)

    def _on_message(self, _client: object, _userdata: object, message: paho.MQTTMessage) -> None:
        self.received += 1
        if self._closing:
            return  # not acknowledged: redelivered to the next session
        if len(self._buffer) >= self._hard_limit:
            # [3] A dropped message must still be acknowledged: an unacknowledged one holds
            # a slot of the broker's in-flight window until we reconnect, and a window full
            # of them would stall the stream for good. A compliant MQTT 5 broker never gets
            # here (Receive Maximum); a 3.1.1 broker without an in-flight limit can.
            self._queue_full.inc()
            self.dropped += 1
            if message.qos and self._paho is not None:
                self._paho.ack(message.mid, message.qos)
            if self.dropped % _QUEUE_FULL_LOG_EVERY == 1:
                logger.warning("ingest queue full (%d): message dropped", len(self._buffer))
            return
        self._buffer.append(
            Inbound(message.topic, bytes(message.payload), message.mid, message.qos, self._session)
        )
        self._unacked += 1
        self._ready.set()
        if len(self._buffer) >= self.settings.queue_size and not self.paused:
            self._pause()

    # [4] Back-pressure that does not depend on the broker honouring Receive Maximum
    # (Mosquitto 2.0 overshoots it while acks are in flight, and 3.1.1 has no such thing):
    # with the queue full we stop reading the socket, TCP's window closes and the broker
    # holds the rest. Reading resumes, with our own reader, once the queue is half empty.

    def _pause(self) -> None:
        sock = self._paho.socket() if self._paho is not None else None
        if sock is None:
            return
        asyncio.get_running_loop().remove_reader(sock)
        self.paused = True
        self.pauses += 1

    def _resume(self) -> None:
        self.paused = False
        sock = self._paho.socket() if self._paho is not None else None
        if sock is not None:
            asyncio.get_running_loop().add_reader(sock, self._read_ready)

    def _read_ready(self) -> None:
        try:
            self._paho.loop_read()
        except Exception:  # as aiomqtt's own reader: a failed read means a broken link
            logger.exception("reading from the broker failed; disconnecting")
            self._paho.disconnect()
