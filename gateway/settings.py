"""The gateway's settings: one typed object from TOML, ``AFTERCARE_*`` variables and flags.

Precedence, highest first: command-line flags, environment variables (``AFTERCARE_``
prefix, nested sections joined with ``__``, e.g. ``AFTERCARE_MQTT__URL``), the TOML
file, the defaults here. The object is built once at start-up by :func:`load_settings`
and passed to the runtime; nothing reads it from a module global.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from device_adapters import ADAPTERS
from gateway.exceptions import ConfigError

__all__ = [
    "ForwarderSettings",
    "GatewaySettings",
    "MqttSettings",
    "OutboxSettings",
    "PipelineSettings",
    "SerialPortSettings",
    "StoreSettings",
    "load_settings",
]

_TOML_PATH: ContextVar[Path | None] = ContextVar("aftercare_gateway_toml", default=None)


class _Section(BaseModel):
    model_config = {"extra": "forbid", "frozen": True}


class MqttSettings(_Section):
    """The broker connection and MQTT ingest.

    Attributes:
        enabled: whether to ingest from MQTT at all (a serial-only hub turns it off).
        url: ``mqtt://host:port``.
        client_id: fixed, so the broker keeps our persistent session across restarts.
        protocol: ``"5"`` or ``"3.1.1"`` (amqtt, the demo's fallback broker, is 3.1.1 only).
        username: optional broker user.
        password: optional broker password.
        shared_group: when set, subscribe as ``$share/<group>/<filter>`` so several
            gateways split one stream.
        session_expiry_s: how long the broker keeps our session while we are away (MQTT 5).
        queue_size: messages held between ingest and pipeline; also the MQTT 5 Receive
            Maximum, so the broker stops sending when that many are unacknowledged.
        batch_size: messages handed to the pipeline at once.
        keepalive_s: MQTT keepalive.
        reconnect_min_s: first reconnect delay; doubles up to ``reconnect_max_s``, with jitter.
        reconnect_max_s: reconnect delay cap.
    """

    enabled: bool = True
    url: str = "mqtt://127.0.0.1:1883"
    client_id: str = "aftercare-gateway"
    protocol: Literal["5", "3.1.1"] = "5"
    username: str | None = None
    password: str | None = None
    shared_group: str | None = None
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    queue_size: int = Field(default=2000, ge=1, le=65535)
    batch_size: int = Field(default=500, ge=1)
    keepalive_s: int = Field(default=30, ge=5)
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError(f"{value!r} is not mqtt://host:port")
        return value

    @property
    def host(self) -> str:
        """The broker's host name."""
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        """The broker's port (1883 when the URL has none)."""
        return urlsplit(self.url).port or 1883


class SerialPortSettings(_Section):
    """One serial port and the protocol spoken on it.

    Attributes:
        path: the device path (``/dev/ttyUSB0``); also the adapter's ``source`` name.
        protocol: ``modbus_rtu`` (polled) or ``tuya_mcu`` (streamed).
        baudrate: line speed.
        poll_interval_s: Modbus: time between polls of each device.
        request_gap_s: Modbus: silence kept between requests on the bus (HA uses 30 ms).
        response_timeout_s: Modbus: how long to wait for an answer.
        heartbeat_s: Tuya: heartbeat / status query period.
        reopen_min_s: first delay before reopening a lost port; doubles with jitter.
        reopen_max_s: reopen delay cap.
    """

    path: str
    protocol: Literal["modbus_rtu", "tuya_mcu"]
    baudrate: int = 9600
    poll_interval_s: float = Field(default=5.0, gt=0)
    request_gap_s: float = Field(default=0.03, ge=0)
    response_timeout_s: float = Field(default=1.0, gt=0)
    heartbeat_s: float = Field(default=5.0, gt=0)
    reopen_min_s: float = Field(default=0.2, gt=0)
    reopen_max_s: float = Field(default=10.0, gt=0)


class OutboxSettings(_Section):
    """The durable ticket outbox.

    Attributes:
        max_rows: pending tickets kept at most; beyond it new tickets are refused (counted
            as ``result="outbox_full"``) rather than silently evicting older ones.
        max_bytes: the same bound on the stored JSON bodies.
    """

    max_rows: int = Field(default=100_000, ge=1)
    max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)


class ForwarderSettings(_Section):
    """Posting tickets to the cloud.

    Attributes:
        cloud_url: the cloud API's base URL; None keeps tickets in the outbox only.
        token: the gateway's bearer token.
        timeout_s: per-request timeout.
        batch_size: tickets read from the outbox per round.
        backoff_min_s: first retry delay while the cloud is down; doubles with jitter.
        backoff_max_s: retry delay cap.
    """

    cloud_url: str | None = None
    token: str | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    batch_size: int = Field(default=50, ge=1)
    backoff_min_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=60.0, gt=0)


class StoreSettings(_Section):
    """The telemetry store (an InfluxDB v2 write API), off by default.

    Attributes:
        enabled: write readings to the store.
        url: the server's base URL.
        org: InfluxDB organisation.
        bucket: InfluxDB bucket.
        token: InfluxDB token.
        batch_size: points per write.
        flush_interval_s: longest a point waits for its batch.
        max_buffer: points held while the store is slow or down; beyond it new points are
            dropped and counted.
        backoff_min_s: first retry delay; doubles with jitter.
        backoff_max_s: retry delay cap.
        shutdown_flush_s: how long shutdown waits for the last points to be written.
    """

    enabled: bool = False
    url: str = "http://127.0.0.1:8086"
    org: str = "aftercare"
    bucket: str = "telemetry"
    token: str = ""
    batch_size: int = Field(default=1000, ge=1)
    flush_interval_s: float = Field(default=1.0, gt=0)
    max_buffer: int = Field(default=50_000, ge=1)
    backoff_min_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    shutdown_flush_s: float = Field(default=10.0, ge=0)


class PipelineSettings(_Section):
    """De-duplication, lateness and the sweep.

    Attributes:
        lateness_s: telemetry older than a device's newest by more than this is flagged late.
        dedup_window: recent message identities remembered per device.
        max_devices: bound on per-device bookkeeping.
        sweep_interval_s: how often the time-driven rules (silence) run.
        fleet_models: the fleet model artifact (``aftercare anomaly train``'s
            ``fleet.skops``); loaded at start and reloaded when the file changes.
    """

    lateness_s: float = Field(default=600.0, ge=0)
    dedup_window: int = Field(default=64, ge=1)
    max_devices: int = Field(default=100_000, ge=1)
    sweep_interval_s: float = Field(default=10.0, gt=0)
    fleet_models: Path | None = None


def _native_only() -> dict[str, dict[str, Any]]:
    return {"native": {}}


class GatewaySettings(BaseSettings):
    """Everything the gateway process needs.

    Attributes:
        data_dir: where the outbox lives.
        http_host: address of the health and metrics server.
        http_port: its port (0 picks a free one).
        adapters: adapter tables by registry name (``[adapters.native]``); the keys are
            the adapters enabled.
    """

    model_config = SettingsConfigDict(
        env_prefix="AFTERCARE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Path("aftercare-gateway-data")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=9108, ge=0, le=65535)
    mqtt: MqttSettings = MqttSettings()
    serial: list[SerialPortSettings] = Field(default_factory=list)
    adapters: dict[str, dict[str, Any]] = Field(default_factory=_native_only)
    outbox: OutboxSettings = OutboxSettings()
    forwarder: ForwarderSettings = ForwarderSettings()
    store: StoreSettings = StoreSettings()
    pipeline: PipelineSettings = PipelineSettings()

    @field_validator("adapters")
    @classmethod
    def _known_adapters(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        unknown = sorted(set(value) - set(ADAPTERS))
        if unknown:
            valid = ", ".join(sorted(ADAPTERS))
            raise ValueError(f"unknown adapter(s) {', '.join(unknown)} (valid: {valid})")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 — no .env files on a hub
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (init) over environment over the TOML file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _TOML_PATH.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


_FLAG_FIELDS = {
    "broker": ("mqtt", "url"),
    "cloud": ("forwarder", "cloud_url"),
    "token": ("forwarder", "token"),
    "data_dir": (None, "data_dir"),
    "http_port": (None, "http_port"),
}


def load_settings(
    config: Path | None = None, flags: Mapping[str, Any] | None = None
) -> GatewaySettings:
    """Build the settings from a TOML file, the environment and command-line flags.

    Args:
        config: the TOML file, or None.
        flags: ``broker``, ``cloud``, ``token``, ``data_dir``, ``http_port`` (None = unset).

    Raises:
        ConfigError: the file cannot be read or a value is invalid (the message lists the
            valid adapter names when an adapter is unknown).
    """
    init: dict[str, Any] = {}
    if config is not None:
        try:
            tomllib.loads(config.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {config}: {exc}") from exc
    for flag, value in (flags or {}).items():
        if value is None:
            continue
        section, field = _FLAG_FIELDS[flag]
        if section is None:
            init[field] = value
        else:
            # sources are deep-merged: a flag overrides one key, the rest of its section
            # still comes from the environment and the file
            init.setdefault(section, {})[field] = value
    token = _TOML_PATH.set(config)
    try:
        return GatewaySettings(**init)
    except ValidationError as exc:
        raise ConfigError(f"invalid gateway settings: {exc}") from exc
    finally:
        _TOML_PATH.reset(token)
