"""Modbus RTU: register blocks polled from appliances on an RS-485 bus.

Documentation followed: the Modbus Application Protocol Specification V1.1b3 and the
Modbus over Serial Line Specification V1.02 (https://modbus.org/specs.php): function codes
3 (read holding registers) and 4 (read input registers), exception responses
(function | 0x80), and the CRC-16 (polynomial 0xA001, initial 0xFFFF, low byte first).
pymodbus supplies the CRC and builds the request and response frames.

The gateway's poller sends :func:`read_request` for each configured device (one request
covers its whole :class:`~device_adapters.profiles.RegisterMap`), feeds what the port
returns to :class:`ModbusRtuFramer`, and hands each frame to
:meth:`ModbusRtuAdapter.decode` with ``topic`` the port name. A response does not repeat
the start address, so the adapter reads it as the answer to its device's block request;
the byte count must match the map. Values are decoded per the register map (``uint16``,
``int16``, ``uint32``, ``int32``, ``float32`` with the map's word order) and scaled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, Final, Self

from device_adapters._payload import check_size
from device_adapters.bindings import (
    DeviceBinding,
    check_keys,
    read_binding,
    read_float,
    read_int,
    read_list,
    read_str,
    telemetry_of,
)
from device_adapters.exceptions import AdapterConfigError, PayloadRejected, RejectReason
from device_adapters.framing import BAD_CHECK, BAD_HEADER, NEED_MORE, HuntingFramer
from device_adapters.profiles import (
    Register,
    RegisterMap,
    RegisterType,
    WordOrder,
    profile_for,
)
from device_adapters.reading import Telemetry

__all__ = [
    "ModbusDevice",
    "ModbusRtuAdapter",
    "ModbusRtuFramer",
    "crc16",
    "encode_exception",
    "encode_response",
    "read_request",
]

MAX_RTU_FRAME: Final = 256  # the serial line's ADU limit
_READ_FUNCTIONS: Final = frozenset({1, 2, 3, 4})  # a byte count follows the function code
_WRITE_FUNCTIONS: Final = frozenset({5, 6, 15, 16})  # fixed 8-byte responses
_KNOWN_FUNCTIONS: Final = _READ_FUNCTIONS | _WRITE_FUNCTIONS
_SETTINGS: Final = frozenset({"devices"})
_DEVICE_KEYS: Final = frozenset({"unit", "function", "word_order", "registers"})


@cache
def _pymodbus() -> tuple[Any, Any]:
    """The pymodbus RTU framer and PDU decoder, imported on first use (it costs ~60 ms)."""
    from pymodbus.framer import FramerRTU  # deferred: pymodbus imports slowly
    from pymodbus.pdu import DecodePDU

    return FramerRTU, FramerRTU(DecodePDU(is_server=False))


def crc16(data: bytes | bytearray) -> int:
    """The Modbus CRC-16 of ``data``, as the two frame bytes read big-endian."""
    framer_class, _ = _pymodbus()
    crc: int = framer_class.compute_CRC(bytes(data))
    return crc


def read_request(unit: int, register_map: RegisterMap) -> bytes:
    """The RTU request that reads ``register_map``'s whole block from ``unit``."""
    from pymodbus.pdu.register_message import (  # deferred: pymodbus imports slowly
        ReadHoldingRegistersRequest,
        ReadInputRegistersRequest,
    )

    request_class = (
        ReadInputRegistersRequest if register_map.function == 4 else ReadHoldingRegistersRequest
    )
    pdu = request_class(address=register_map.start, count=register_map.count, dev_id=unit)
    frame: bytes = _pymodbus()[1].buildFrame(pdu)
    return frame


def encode_response(unit: int, register_map: RegisterMap, metrics: Mapping[str, float]) -> bytes:
    """The RTU response a device sends for :func:`read_request` (simulator, tests)."""
    from pymodbus.pdu.register_message import (  # deferred: pymodbus imports slowly
        ReadHoldingRegistersResponse,
        ReadInputRegistersResponse,
    )

    response_class = (
        ReadInputRegistersResponse if register_map.function == 4 else ReadHoldingRegistersResponse
    )
    pdu = response_class(registers=register_map.encode(metrics), dev_id=unit)
    frame: bytes = _pymodbus()[1].buildFrame(pdu)
    return frame


def encode_exception(unit: int, function: int, code: int) -> bytes:
    """An exception response (``function | 0x80``, exception ``code``)."""
    body = bytes((unit, function | 0x80, code))
    return body + crc16(body).to_bytes(2, "big")


class ModbusRtuFramer(HuntingFramer):
    """Splits the bytes a Modbus master receives into response frames.

    RTU frames have no start marker; frames are found by reading the length a function
    code implies and checking the CRC, as pymodbus's own RTU framer does, but a bad CRC
    skips one byte (not the whole buffer) and is counted.

    Args:
        units: the unit addresses expected on this bus (others are garbage); all of
            1..247 when empty.
    """

    def __init__(self, *, units: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.units = units or frozenset(range(1, 248))

    def match(self, buf: bytearray, start: int) -> int:
        """See :meth:`HuntingFramer.match`."""
        available = len(buf) - start
        if buf[start] not in self.units:
            return BAD_HEADER
        if available < 3:
            return NEED_MORE
        function = buf[start + 1]
        if function in _READ_FUNCTIONS:
            total = 5 + buf[start + 2]
        elif function in _WRITE_FUNCTIONS:
            total = 8
        elif function & 0x80 and (function & 0x7F) in _KNOWN_FUNCTIONS:
            total = 5
        else:
            return BAD_HEADER
        if available < total:
            return NEED_MORE
        crc = int.from_bytes(buf[start + total - 2 : start + total], "big")
        if crc16(buf[start : start + total - 2]) != crc:
            return BAD_CHECK
        return total


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusDevice:
    """An appliance on a bus: its port (the binding's ``source``), unit and register map."""

    binding: DeviceBinding
    unit: int
    register_map: RegisterMap

    @property
    def request(self) -> bytes:
        """The poll request for this device."""
        return read_request(self.unit, self.register_map)


class ModbusRtuAdapter:
    """Decodes Modbus RTU read responses, one frame per call, ``topic`` the port name.

    Args:
        devices: the appliances, by ``(port, unit)``.
    """

    name: ClassVar[str] = "modbus_rtu"
    topic_filters: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, devices: Mapping[tuple[str, int], ModbusDevice]) -> None:
        self.devices = dict(devices)
        self.max_payload_bytes = MAX_RTU_FRAME

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        """Build from a configuration table.

        ``devices``: each a binding whose ``source`` is the port, plus ``unit`` (1..247)
        and optionally ``function`` (3 or 4), ``word_order`` (``big``/``little``) and
        ``registers = [{address, type, scale, metric}]`` (default: the kind's map).

        Raises:
            AdapterConfigError: a key is unknown or has a bad value.
        """
        where = cls.name
        check_keys(settings, _SETTINGS, where)
        devices: dict[tuple[str, int], ModbusDevice] = {}
        for device in read_list(settings, "devices", where, _read_device):
            key = (device.binding.source, device.unit)
            if key in devices:
                raise AdapterConfigError(f"{where}.devices: unit {device.unit} on {key[0]} twice")
            devices[key] = device
        return cls(devices=devices)

    def units_on(self, port: str) -> frozenset[int]:
        """The unit addresses configured on ``port`` (for its framer)."""
        return frozenset(unit for p, unit in self.devices if p == port)

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> list[Telemetry]:
        """Decode one response frame; see :class:`~device_adapters.base.DeviceAdapter`."""
        check_size(payload, self.max_payload_bytes)
        if len(payload) < 5:
            raise PayloadRejected(RejectReason.FRAMING, f"{len(payload)} bytes is no RTU frame")
        if crc16(payload[:-2]) != int.from_bytes(payload[-2:], "big"):
            raise PayloadRejected(RejectReason.CRC, "Modbus CRC mismatch")
        device = self.devices.get((topic, payload[0]))
        if device is None:
            raise PayloadRejected(
                RejectReason.UNKNOWN_DEVICE, f"no device at unit {payload[0]} on {topic!r}"
            )
        words = _registers(device, payload)
        metrics = device.register_map.decode(words)
        for metric, value in metrics.items():
            if not math.isfinite(value):  # a float32 register may hold NaN or inf
                raise PayloadRejected(
                    RejectReason.NON_FINITE,
                    f"{metric} is not finite",
                    device_id=device.binding.device_id,
                )
        return [telemetry_of(device.binding, received_at, metrics, {}, self.name)]


def _registers(device: ModbusDevice, frame: bytes) -> list[int]:
    device_id = device.binding.device_id
    function = frame[1]
    if function & 0x80:
        raise PayloadRejected(
            RejectReason.SCHEMA,
            f"exception response {frame[2]} to function {function & 0x7F}",
            device_id=device_id,
        )
    rmap = device.register_map
    if function != rmap.function:
        raise PayloadRejected(
            RejectReason.SCHEMA,
            f"function {function}, expected {rmap.function}",
            device_id=device_id,
        )
    byte_count = frame[2]
    if byte_count != 2 * rmap.count or len(frame) != 5 + byte_count:
        raise PayloadRejected(
            RejectReason.SCHEMA,
            f"{byte_count} data bytes, the register map needs {2 * rmap.count}",
            device_id=device_id,
        )
    data = frame[3:-2]
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, byte_count, 2)]


def _read_device(entry: Mapping[str, Any], where: str) -> ModbusDevice:
    binding = read_binding(entry, where, _DEVICE_KEYS)
    default = profile_for(binding.kind).modbus
    word_order = read_str(entry, "word_order", where, default.word_order.value)
    if word_order not in WordOrder.__members__.values():
        raise AdapterConfigError(f"{where}.word_order: {word_order!r} is not big or little")
    registers = default.registers
    if "registers" in entry:
        registers = tuple(read_list(entry, "registers", where, _read_register))
    try:
        rmap = RegisterMap(
            registers=registers,
            function=read_int(entry, "function", where, default.function, 3, 4),
            word_order=WordOrder(word_order),
        )
    except ValueError as exc:
        raise AdapterConfigError(f"{where}.registers: {exc}") from exc
    return ModbusDevice(
        binding=binding, unit=read_int(entry, "unit", where, 0, 1, 247), register_map=rmap
    )


def _read_register(item: Mapping[str, Any], at: str) -> Register:
    check_keys(item, frozenset({"address", "type", "scale", "metric"}), at)
    type_name = read_str(item, "type", at, "uint16")
    if type_name not in RegisterType.__members__.values():
        raise AdapterConfigError(f"{at}.type: unknown register type {type_name!r}")
    if not item.get("metric"):
        raise AdapterConfigError(f"{at}: missing key 'metric'")
    return Register(
        address=read_int(item, "address", at, -1, 0, 0xFFFF),
        type=RegisterType(type_name),
        scale=read_float(item, "scale", at, 1.0),
        metric=read_str(item, "metric", at),
    )
