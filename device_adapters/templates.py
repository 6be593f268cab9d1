"""A tiny, safe reader for Home Assistant ``value_template`` expressions.

Discovery configs carry Jinja templates; evaluating them would run device-supplied code,
so Aftercare never does. It understands the forms MQTT integrations actually publish and
refuses the rest at discovery time (``schema``), never per message:

* ``{{ value }}`` and ``{{ value_json }}``;
* ``{{ value_json.a.b }}``, ``{{ value_json['a'] }}``, ``{{ value_json["a"][0] }}``;
* followed by filters ``| float``, ``| int``, ``| float(0)``, ``| int(0)``,
  ``| round(n)``, ``| multiply(x)``, ``| lower``, ``| upper``.

A template is compiled once (:func:`compile_template`) and then applied to each message
with no regular expression on the hot path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from device_adapters._payload import MISSING

__all__ = ["TemplateError", "ValueTemplate", "compile_template"]

_OUTER: Final = re.compile(r"^\s*\{\{\s*(.*?)\s*\}\}\s*$", re.DOTALL)
_ACCESS: Final = re.compile(
    r"""\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:'([^']*)'|"([^"]*)"|(\d+))\s*\]"""
)
_FILTER: Final = re.compile(r"^([a-z_]+)\s*(?:\(\s*(-?[0-9.]+)?\s*\))?$")
_FILTERS: Final = frozenset({"float", "int", "round", "multiply", "lower", "upper"})
_SENTINELS: Final = frozenset({"unknown", "unavailable", "None", "none", "null"})


class TemplateError(ValueError):
    """The template uses something the safe reader does not support."""


@dataclass(frozen=True, slots=True)
class ValueTemplate:
    """A compiled template.

    Attributes:
        json: whether it reads ``value_json`` (the payload parsed as JSON).
        path: the keys and indexes into ``value_json``.
        filters: ``(name, argument)`` pairs applied in order.
    """

    json: bool
    path: tuple[str | int, ...] = ()
    filters: tuple[tuple[str, float | None], ...] = ()

    def render(self, value: str, value_json: object = MISSING) -> object:
        """The template's result (:data:`MISSING`: path absent; ``None``: ``unavailable``).

        Raises:
            TemplateError: a filter could not convert the value (and had no default).
        """
        result: object = value
        if self.json:
            result = _follow(value_json, self.path)
            if result is MISSING:
                return MISSING
        if isinstance(result, str) and result.strip() in _SENTINELS:
            return None  # Home Assistant's own "no value" words, before any filter fails
        for name, arg in self.filters:
            result = _apply(name, arg, result)
        return result


def compile_template(text: str | None) -> ValueTemplate:
    """Compile a ``value_template`` (``None`` means the raw payload, like ``{{ value }}``).

    Raises:
        TemplateError: the template is not one of the supported forms.
    """
    if text is None:
        return ValueTemplate(json=False)
    match = _OUTER.match(text)
    if match is None or "{{" in match.group(1) or "{%" in text:
        raise TemplateError(f"unsupported template {text[:80]!r}")
    expr, *filter_texts = (part.strip() for part in match.group(1).split("|"))
    filters = tuple(_compile_filter(f) for f in filter_texts)
    if expr == "value":
        return ValueTemplate(json=False, filters=filters)
    if not expr.startswith("value_json"):
        raise TemplateError(f"unsupported expression {expr[:80]!r}")
    return ValueTemplate(json=True, path=_compile_path(expr[len("value_json") :]), filters=filters)


def _compile_path(rest: str) -> tuple[str | int, ...]:
    path: list[str | int] = []
    pos = 0
    while pos < len(rest):
        step = _ACCESS.match(rest, pos)
        if step is None:
            raise TemplateError(f"unsupported access {rest[pos : pos + 40]!r}")
        attr, single, double, index = step.groups()
        if index is not None:
            path.append(int(index))
        else:
            path.append(next(p for p in (attr, single, double) if p is not None))
        pos = step.end()
    return tuple(path)


def _compile_filter(text: str) -> tuple[str, float | None]:
    match = _FILTER.match(text)
    if match is None or match.group(1) not in _FILTERS:
        raise TemplateError(f"unsupported filter {text[:40]!r}")
    name, arg = match.groups()
    try:
        return name, float(arg) if arg is not None else None
    except ValueError as exc:
        raise TemplateError(f"bad filter argument {text[:40]!r}") from exc


def _follow(node: object, path: Sequence[str | int]) -> object:
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return MISSING
            node = node[step]
        elif isinstance(node, dict):
            node = node.get(step, MISSING)
            if node is MISSING:
                return MISSING
        else:
            return MISSING
    return node


def _number(value: object) -> float:
    # stricter than Jinja, whose float(true) is 1.0: a boolean is no measurement
    if isinstance(value, bool):
        raise TypeError("bool")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise TypeError(type(value).__name__)


def _apply(name: str, arg: float | None, value: object) -> object:
    if name in ("lower", "upper"):
        return getattr(value, name)() if isinstance(value, str) else value
    try:
        number = _number(value)
        if name == "int":
            number = float(math.trunc(number))  # a float still, so non-finite fails later
    except (TypeError, ValueError, OverflowError) as exc:
        if arg is not None and name in ("float", "int"):
            return arg  # Jinja's float(default) / int(default)
        raise TemplateError(f"{name} of {str(value)[:40]!r} failed") from exc
    if name == "round":
        return round(number, int(arg or 0))
    if name == "multiply":
        return number * (arg if arg is not None else 1.0)
    return number
