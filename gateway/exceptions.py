"""The gateway's exceptions, mapped from the transports at layer boundaries (httpx style).

Tree::

    GatewayError                 base of everything the gateway raises on purpose
    ├── ConfigError              bad settings: unknown adapter, unreadable TOML, bad value
    ├── BrokerUnavailable        the MQTT broker refused or dropped the connection
    ├── CloudUnavailable         the cloud API is unreachable or answered 5xx/408/429
    ├── TicketRejected           the cloud refused a ticket for good (4xx): dead-lettered
    ├── SerialPortLost           a serial port vanished or failed to open
    └── StoreUnavailable         the telemetry store refused or failed a write

Every one carries structured fields and is raised ``from`` the transport error.
"""

from __future__ import annotations

__all__ = [
    "BrokerUnavailable",
    "CloudUnavailable",
    "ConfigError",
    "GatewayError",
    "SerialPortLost",
    "StoreUnavailable",
    "TicketRejected",
]


class GatewayError(Exception):
    """Base class of the gateway's exceptions."""


class ConfigError(GatewayError):
    """The settings are invalid; the message says which one and why."""


class BrokerUnavailable(GatewayError):  # noqa: N818 — names fixed by the design
    """The MQTT broker could not be reached or dropped us.

    Attributes:
        broker: ``host:port`` of the broker.
    """

    def __init__(self, broker: str, detail: str) -> None:
        super().__init__(f"broker {broker} unavailable: {detail}")
        self.broker = broker


class CloudUnavailable(GatewayError):  # noqa: N818 — names fixed by the design
    """The cloud could not take a ticket now; retry later.

    Attributes:
        status: the HTTP status, or None for a transport error.
    """

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(f"cloud unavailable: {detail}")
        self.status = status


class TicketRejected(GatewayError):  # noqa: N818 — names fixed by the design
    """The cloud refused a ticket with a final 4xx; it is dead-lettered, not retried.

    Attributes:
        status: the HTTP status.
        key: the ticket's idempotency key.
    """

    def __init__(self, key: str, status: int, detail: str) -> None:
        super().__init__(f"ticket {key} rejected with {status}: {detail}")
        self.key = key
        self.status = status


class SerialPortLost(GatewayError):  # noqa: N818 — names fixed by the design
    """A serial port could not be opened or vanished.

    Attributes:
        port: the port's path.
    """

    def __init__(self, port: str, detail: str) -> None:
        super().__init__(f"serial port {port} lost: {detail}")
        self.port = port


class StoreUnavailable(GatewayError):  # noqa: N818 — names fixed by the design
    """The telemetry store failed a write.

    Attributes:
        url: the store's URL.
    """

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"telemetry store {url} unavailable: {detail}")
        self.url = url
