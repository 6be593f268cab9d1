"""Home Assistant discovery messages for an appliance: the encode side of ``ha_discovery``.

Whoever makes appliances visible to Home Assistant (the simulator playing an HA-speaking
bridge, or the gateway re-publishing its devices) publishes these retained configs, and
publishes them **again** when Home Assistant announces itself on ``homeassistant/status``
(``online``) and after every broker reconnect, the omission behind the "everything
unavailable after a restart" reports (home-assistant/core#69466, #37662). Each config
uses the documented abbreviations and a plain ``{{ value_json.<path> }}`` template, so
:class:`~device_adapters.ha_discovery.HaDiscoveryAdapter` learns it back exactly.

Documentation followed: https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
and https://www.home-assistant.io/integrations/sensor/#device-class.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

import orjson

from aftercare.catalog import default_catalog
from device_adapters.ha_discovery import DISCOVERY_PREFIX

__all__ = ["discovery_messages", "removal_messages"]

_UNSAFE: Final = re.compile(r"[^a-zA-Z0-9_-]")
# sensor device classes by unit, only where HA accepts the unit and a "measurement" state
# class for that class (water wants a total, energy_storage wants Wh): the rest get none
_DEVICE_CLASS: Final[Mapping[str, str]] = {
    "°C": "temperature",
    "A": "current",
    "V": "voltage",
    "kPa": "pressure",
    "s": "duration",
    "min": "duration",
}


def _topic_id(text: str) -> str:
    """A discovery topic id (``[a-zA-Z0-9_-]``); other characters become ``_``."""
    return _UNSAFE.sub("_", text)


def _config_topic(device_id: str, metric: str) -> str:
    node = _topic_id(device_id)
    return f"{DISCOVERY_PREFIX}/sensor/{node}/{node}_{metric}/config"


def discovery_messages(
    *,
    device_id: str,
    kind: str,
    model: str,
    state_topic: str,
    fw: str | None = None,
    availability_topic: str | None = None,
    value_path: Sequence[str] = ("metrics",),
) -> list[tuple[str, bytes]]:
    """One retained ``sensor`` config per catalog metric of ``kind``.

    Args:
        device_id: the appliance (its identifier in the configs).
        kind: its catalog kind: which metrics, units and device classes.
        model: its catalog model (how a reader tells the kind).
        state_topic: where its JSON state is published.
        fw: its firmware version, when known.
        availability_topic: where ``online``/``offline`` is published, if anywhere.
        value_path: the keys above the metric in the state JSON (``("metrics",)`` for
            the native message; ``()`` for a flat object such as Zigbee2MQTT's).

    Returns:
        ``(topic, payload)`` pairs, to be published retained.
    """
    device: dict[str, object] = {"ids": [device_id], "mf": "Aftercare", "mdl": model}
    if fw is not None:
        device["sw"] = fw
    prefix = "".join(f"{key}." for key in value_path)
    messages = []
    for spec in default_catalog().kind(kind).metrics:
        config: dict[str, object] = {
            "name": spec.name.replace("_", " "),
            "stat_t": state_topic,
            "val_tpl": f"{{{{ value_json.{prefix}{spec.name} }}}}",
            "uniq_id": f"{device_id}_{spec.name}",
            "unit_of_meas": spec.unit,
            "stat_cla": "measurement",
            "dev": device,
        }
        if spec.unit in _DEVICE_CLASS:
            config["dev_cla"] = _DEVICE_CLASS[spec.unit]
        if availability_topic is not None:
            config["avty_t"] = availability_topic
        messages.append((_config_topic(device_id, spec.name), orjson.dumps(config)))
    return messages


def removal_messages(*, device_id: str, kind: str) -> list[tuple[str, bytes]]:
    """The empty retained payloads that delete what :func:`discovery_messages` announced."""
    return [
        (_config_topic(device_id, name), b"") for name in default_catalog().kind(kind).metric_names
    ]
