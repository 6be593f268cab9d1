"""The Tuya MCU serial protocol: datapoint reports from an appliance's main board.

Documentation followed: https://developer.tuya.com/en/docs/iot/tuya-cloud-universal-serial-port-access-protocol?id=K9hhi0xxtn9cb
(frame format, commands, datapoint types) and
https://developer.tuya.com/en/docs/iot/wifi-module-mcu-development-overview-for-homekit?id=Kaa8fvusmgapc.

Frame: ``55 AA`` header, version (``03`` from the MCU, ``00`` from the module), command,
2-byte big-endian data length, data, and a checksum byte (the sum of every preceding
byte, mod 256). A status report (command ``07``) carries datapoint units: id (1 byte),
type (1), length (2, big-endian), value (``VALUE`` a 4-byte big-endian signed integer,
``BOOL``/``ENUM`` one byte, ``STRING``/``RAW`` any length, ``BITMAP`` 1, 2 or 4 bytes).

:class:`TuyaFramer` splits the UART stream; :class:`TuyaMcuAdapter` decodes one frame per
call (``topic`` is the port name) through the kind's datapoint map. ``VALUE`` datapoints
become metrics, the others state. Datapoints the map does not name are ignored. The
product-information reply (command ``01``, ``{"p": ..., "v": "1.0.0"}``) supplies the
firmware version. The encoders build the frames the simulator and the tests send.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, Final, Self

from device_adapters._payload import about, check_size, load_json_object
from device_adapters.bindings import (
    DeviceBinding,
    check_keys,
    read_bindings,
    read_float,
    read_int,
    read_list,
    read_max_payload,
    read_str,
    telemetry_of,
)
from device_adapters.exceptions import AdapterConfigError, PayloadRejected, RejectReason
from device_adapters.framing import BAD_CHECK, BAD_HEADER, NEED_MORE, HuntingFramer
from device_adapters.profiles import Datapoint, DpType, profile_for
from device_adapters.reading import StateValue, Telemetry

__all__ = [
    "CMD_HEARTBEAT",
    "CMD_PRODUCT_INFO",
    "CMD_QUERY_STATUS",
    "CMD_STATUS_REPORT",
    "TuyaDevice",
    "TuyaFramer",
    "TuyaMcuAdapter",
    "encode_dp_report",
    "encode_frame",
    "frame_checksum",
]

HEADER: Final = b"\x55\xaa"
VERSION_MCU: Final = 0x03
VERSION_MODULE: Final = 0x00
CMD_HEARTBEAT: Final = 0x00
CMD_PRODUCT_INFO: Final = 0x01
CMD_QUERY_STATUS: Final = 0x08
CMD_STATUS_REPORT: Final = 0x07
DEFAULT_MAX_DATA: Final = 1024
_MIN_FRAME: Final = 7
_SETTINGS: Final = frozenset({"devices", "max_payload_bytes"})
_DEVICE_KEYS: Final = frozenset({"datapoints"})
_FIXED_LEN: Final[Mapping[DpType, tuple[int, ...]]] = {
    DpType.BOOL: (1,),
    DpType.VALUE: (4,),
    DpType.ENUM: (1,),
    DpType.BITMAP: (1, 2, 4),
}


def frame_checksum(data: bytes | bytearray) -> int:
    """The Tuya checksum: the sum of the bytes, mod 256."""
    return sum(data) & 0xFF


def encode_frame(command: int, data: bytes = b"", version: int = VERSION_MCU) -> bytes:
    """A complete frame with header, length and checksum."""
    body = HEADER + bytes((version, command)) + len(data).to_bytes(2, "big") + data
    return body + bytes((frame_checksum(body),))


def encode_dp_report(datapoints: Sequence[Datapoint], values: Mapping[str, object]) -> bytes:
    """A status-report frame (command ``07``) of ``values`` by datapoint name.

    Metrics are scaled with :meth:`Datapoint.encode_value`; ``ENUM`` values are labels;
    names without a value are left out.
    """
    units = bytearray()
    for dp in datapoints:
        if dp.name not in values:
            continue
        raw = _encode_dp_value(dp, values[dp.name])
        units += bytes((dp.dp_id, dp.type)) + len(raw).to_bytes(2, "big") + raw
    return encode_frame(CMD_STATUS_REPORT, bytes(units))


def _encode_dp_value(dp: Datapoint, value: object) -> bytes:
    if dp.type is DpType.VALUE:
        if not isinstance(value, int | float):
            raise TypeError(f"{dp.name}: a VALUE datapoint needs a number")
        return dp.encode_value(value).to_bytes(4, "big", signed=True)
    if dp.type is DpType.BOOL:
        return b"\x01" if value in (True, "on") else b"\x00"
    if dp.type is DpType.ENUM:
        return bytes((dp.options.index(str(value)),))
    if dp.type is DpType.STRING:
        return str(value).encode()
    if isinstance(value, bytes):
        return value
    raise TypeError(f"{dp.name}: cannot encode {value!r} as {dp.type.name}")


class TuyaFramer(HuntingFramer):
    """Splits a Tuya MCU UART stream into frames.

    Args:
        max_data: a header announcing more data bytes than this is garbage.
    """

    def __init__(self, *, max_data: int = DEFAULT_MAX_DATA) -> None:
        super().__init__()
        self.max_data = max_data

    def match(self, buf: bytearray, start: int) -> int:
        """See :meth:`HuntingFramer.match`."""
        available = len(buf) - start
        if buf[start] != 0x55:
            return BAD_HEADER
        if available < 2:
            return NEED_MORE
        if buf[start + 1] != 0xAA:
            return BAD_HEADER
        if available < 6:
            return NEED_MORE
        if buf[start + 2] > VERSION_MCU:
            return BAD_HEADER
        length = int.from_bytes(buf[start + 4 : start + 6], "big")
        if length > self.max_data:
            return BAD_HEADER
        total = _MIN_FRAME + length
        if available < total:
            return NEED_MORE
        if frame_checksum(buf[start : start + total - 1]) != buf[start + total - 1]:
            return BAD_CHECK
        return total


@dataclass(frozen=True, slots=True, kw_only=True)
class TuyaDevice:
    """The appliance behind one UART and its datapoint map."""

    binding: DeviceBinding
    datapoints: tuple[Datapoint, ...]
    by_id: Mapping[int, Datapoint]

    @classmethod
    def of(cls, binding: DeviceBinding, datapoints: tuple[Datapoint, ...] | None = None) -> Self:
        """The device with its own ``datapoints``, or its kind's default map."""
        dps = datapoints if datapoints is not None else profile_for(binding.kind).tuya
        by_id = {dp.dp_id: dp for dp in dps}
        if len(by_id) != len(dps):
            raise ValueError(f"{binding.source}: a datapoint id is mapped twice")
        return cls(binding=binding, datapoints=dps, by_id=by_id)


class TuyaMcuAdapter:
    """Decodes Tuya MCU frames, one per call, with ``topic`` the serial port's name.

    Args:
        devices: the appliances by port name (``/dev/ttyS1``).
        max_payload_bytes: longer frames are rejected as ``too_large``.
    """

    name: ClassVar[str] = "tuya_mcu"
    topic_filters: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        devices: Mapping[str, TuyaDevice],
        max_payload_bytes: int = DEFAULT_MAX_DATA + _MIN_FRAME,
    ) -> None:
        self.devices = dict(devices)
        self.max_payload_bytes = max_payload_bytes
        self.firmware: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        """Build from a configuration table.

        ``devices``: bindings whose ``source`` is the port, each with optional
        ``datapoints = [{dp_id, type, name, scale, options}]`` (``type`` one of ``bool``,
        ``value``, ``string``, ``enum``, ``bitmap``, ``raw``).

        Raises:
            AdapterConfigError: a key is unknown or has a bad value.
        """
        where = cls.name
        check_keys(settings, _SETTINGS, where)
        bindings = read_bindings(settings, where, _DEVICE_KEYS)
        maps = read_list(settings, "devices", where, _read_datapoints)
        try:
            devices = {
                b.source: TuyaDevice.of(b, dps)
                for b, dps in zip(bindings.values(), maps, strict=True)
            }
        except ValueError as exc:
            raise AdapterConfigError(f"{where}.devices: {exc}") from exc
        limit = read_max_payload(settings, where, DEFAULT_MAX_DATA + _MIN_FRAME)
        return cls(devices=devices, max_payload_bytes=limit)

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> list[Telemetry]:
        """Decode one frame; see :class:`~device_adapters.base.DeviceAdapter`."""
        check_size(payload, self.max_payload_bytes)
        device = self.devices.get(topic)
        if device is None:
            raise PayloadRejected(RejectReason.UNKNOWN_DEVICE, f"no appliance on port {topic!r}")
        device_id = device.binding.device_id
        command, data = _unframe(payload, device_id)
        if command == CMD_PRODUCT_INFO:
            with about(device_id):
                self._product_info(device_id, data)
            return []
        if command != CMD_STATUS_REPORT:
            return []  # heartbeat, working mode, network status: nothing to read
        with about(device_id):
            metrics, state = _datapoints(device, data)
        if not metrics and not state:
            return []
        telemetry = telemetry_of(device.binding, received_at, metrics, state, self.name)
        fw = self.firmware.get(device_id)
        if fw is not None and telemetry.fw is None:
            telemetry = replace(telemetry, fw=fw)
        return [telemetry]

    def _product_info(self, device_id: str, data: bytes) -> None:
        info = load_json_object(data)
        version = info.get("v")
        if isinstance(version, str) and 0 < len(version) <= 32:
            self.firmware[device_id] = version


def _unframe(payload: bytes, device_id: str) -> tuple[int, bytes]:
    """The command and data of one complete frame, or a ``framing``/``crc`` rejection."""
    if len(payload) < _MIN_FRAME or payload[:2] != HEADER:
        raise PayloadRejected(RejectReason.FRAMING, "not a Tuya frame", device_id=device_id)
    length = int.from_bytes(payload[4:6], "big")
    if len(payload) != _MIN_FRAME + length:
        raise PayloadRejected(
            RejectReason.FRAMING,
            f"frame of {len(payload)} bytes announces {length} data bytes",
            device_id=device_id,
        )
    if frame_checksum(payload[:-1]) != payload[-1]:
        raise PayloadRejected(RejectReason.CRC, "Tuya checksum mismatch", device_id=device_id)
    return payload[3], payload[6:-1]


def _datapoints(device: TuyaDevice, data: bytes) -> tuple[dict[str, float], dict[str, StateValue]]:
    device_id = device.binding.device_id
    metrics: dict[str, float] = {}
    state: dict[str, StateValue] = {}
    i = 0
    while i < len(data):
        if len(data) - i < 4:
            raise PayloadRejected(RejectReason.SCHEMA, "truncated datapoint", device_id=device_id)
        dp_id, dp_type = data[i], data[i + 1]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        value = data[i + 4 : i + 4 + length]
        i += 4 + length
        if len(value) != length:
            raise PayloadRejected(
                RejectReason.SCHEMA, f"datapoint {dp_id} is truncated", device_id=device_id
            )
        dp = device.by_id.get(dp_id)
        if dp is None:
            continue  # a datapoint the map does not name (a newer MCU firmware's)
        if dp_type != dp.type or len(value) not in _FIXED_LEN.get(dp.type, (length,)):
            raise PayloadRejected(
                RejectReason.SCHEMA,
                f"datapoint {dp_id} ({dp.name}) has type {dp_type} length {length}, "
                f"expected {dp.type.name}",
                device_id=device_id,
            )
        if dp.type is DpType.VALUE:
            metrics[dp.name] = dp.decode_value(int.from_bytes(value, "big", signed=True))
        else:
            state[dp.name] = _state_value(dp, value, device_id)
    return metrics, state


def _state_value(dp: Datapoint, value: bytes, device_id: str) -> StateValue:
    if dp.type is DpType.BOOL:
        return "on" if value[0] else "off"
    if dp.type is DpType.ENUM:
        if value[0] >= len(dp.options):
            raise PayloadRejected(
                RejectReason.SCHEMA,
                f"{dp.name}: enum index {value[0]} unknown",
                device_id=device_id,
            )
        return dp.options[value[0]]
    if dp.type is DpType.STRING:
        return value[:64].decode("utf-8", "replace")
    return int.from_bytes(value[:8], "big")  # BITMAP, or RAW as a number


def _read_datapoints(entry: Mapping[str, Any], where: str) -> tuple[Datapoint, ...] | None:
    if "datapoints" not in entry:
        return None

    def row(item: Mapping[str, Any], at: str) -> Datapoint:
        check_keys(item, frozenset({"dp_id", "type", "name", "scale", "options"}), at)
        type_name = read_str(item, "type", at, "value")
        try:
            dp_type = DpType[type_name.upper()]
        except KeyError as exc:
            raise AdapterConfigError(f"{at}.type: unknown datapoint type {type_name!r}") from exc
        options = item.get("options", [])
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise AdapterConfigError(f"{at}.options: expected a list of strings")
        if not item.get("name"):
            raise AdapterConfigError(f"{at}: missing key 'name'")
        return Datapoint(
            dp_id=read_int(item, "dp_id", at, 0, 1, 255),
            type=dp_type,
            name=read_str(item, "name", at),
            scale=read_float(item, "scale", at, 1.0),
            options=tuple(options),
        )

    return tuple(read_list(entry, "datapoints", where, row))
