"""The contract every wire format implements.

A new wire format is one module in this package with one class satisfying
:class:`DeviceAdapter`, registered in ``device_adapters/__init__.py``. Adapters are
sans-IO: they see bytes, a topic and the time of receipt, never sockets or clocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from device_adapters.reading import Telemetry

__all__ = ["DEFAULT_MAX_PAYLOAD_BYTES", "AdapterClass", "DeviceAdapter", "topic_matches"]

# Telemetry messages are a few hundred bytes; 64 KiB leaves room for discovery configs
# and full-status dumps while refusing anything that would be a memory attack.
DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024


@runtime_checkable
class DeviceAdapter(Protocol):
    """Turns one message (or one serial frame) into validated telemetry.

    Attributes:
        name: the adapter's name, the ``adapter`` label of ``aftercare_messages_total``.
    """

    name: ClassVar[str]

    @property
    def topic_filters(self) -> tuple[str, ...]:
        """The MQTT filters it subscribes to (empty for serial protocols).

        Usually a class constant; an adapter whose topics are configurable (the
        Zigbee2MQTT base topic, the Home Assistant discovery prefix) sets it per instance.
        """
        ...

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> list[Telemetry]:
        """Decode one message.

        Args:
            topic: the MQTT topic, or the port/channel name for serial frames.
            payload: the raw bytes.
            received_at: when the gateway received it (used when the payload has no time).

        Returns:
            Zero or more telemetry records (zero for messages that carry none, such as a
            status or discovery message the adapter only learns from).

        Raises:
            PayloadRejected: the payload is malformed; nothing else escapes.
        """
        ...


class AdapterClass(Protocol):
    """What the registry holds: an adapter class, built from its configuration table.

    The gateway reads ``[adapters.<name>]`` from TOML and calls
    ``ADAPTERS[name].from_settings(table)``; a bad table raises
    :class:`~device_adapters.exceptions.AdapterConfigError` naming the key.
    """

    @property
    def name(self) -> str:
        """The adapter's name (its key in the registry)."""
        ...

    def from_settings(self, settings: Mapping[str, Any], /) -> DeviceAdapter:
        """A configured adapter.

        Raises:
            AdapterConfigError: a key is unknown or has a bad value.
        """
        ...


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching (``+`` one level, ``#`` the rest), per MQTT 3.1.1 §4.7."""
    if topic_filter.startswith("$share/"):
        topic_filter = topic_filter.split("/", 2)[2]
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    for i, level in enumerate(f_levels):
        if level == "#":
            return True
        if i >= len(t_levels):
            return False
        if level not in ("+", t_levels[i]):
            return False
    return len(f_levels) == len(t_levels)
