"""The catalog: device kinds, metrics, models, fault codes and spare parts (Contract 2).

One data file (``catalog.toml`` beside this module) is the single source the simulator,
the detectors and the cloud read. This module loads it and validates it: any problem is
a :class:`CatalogError` that names the file and the line of the offending entry, so a
bad edit fails at start-up instead of surfacing as a wrong ticket weeks later.

Exceptions::

    CatalogError            the file cannot be read or violates a rule
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Final

__all__ = [
    "ANY_KIND",
    "DEFAULT_CATALOG_PATH",
    "Cadence",
    "Catalog",
    "CatalogError",
    "Course",
    "FaultSpec",
    "KindSpec",
    "MetricSpec",
    "ModelSpec",
    "PartLine",
    "PartSpec",
    "Pricing",
    "Severity",
    "WarrantyClass",
    "default_catalog",
    "load_catalog",
]

DEFAULT_CATALOG_PATH: Final = Path(__file__).with_name("catalog.toml")
ANY_KIND: Final = "any"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SKU = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class CatalogError(ValueError):
    """The catalog file is unreadable or breaks a rule.

    Attributes:
        path: the catalog file.
        line: 1-based line of the offending entry, or ``None`` when it is file-wide.
    """

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class Cadence(StrEnum):
    """How a kind reports: every interval, or one message per cycle (wash, cleaning run)."""

    INTERVAL = "interval"
    PER_CYCLE = "per_cycle"


class Course(StrEnum):
    """How a fault develops."""

    GRADUAL = "gradual"
    SUDDEN = "sudden"


class WarrantyClass(StrEnum):
    """Core parts are covered longer and never sold loose; wear parts are consumables."""

    CORE = "core"
    WEAR = "wear"


class Severity(StrEnum):
    """Ticket severity, shared by the gateway and the cloud.

    ``high`` and ``critical`` are urgent in the service flow (30-minute appointment).
    """

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def is_urgent(self) -> bool:
        """Whether the seeds' urgent tier (30 minutes to an appointment) applies."""
        return self in (Severity.HIGH, Severity.CRITICAL)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric a kind reports, with its exact unit."""

    name: str
    unit: str


@dataclass(frozen=True, slots=True)
class KindSpec:
    """A device kind: its metrics and how often it reports."""

    name: str
    label_en: str
    label_zh: str
    cadence: Cadence
    interval_s: int
    offline_after_intervals: int
    metrics: tuple[MetricSpec, ...]

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The metric names in catalog order."""
        return tuple(m.name for m in self.metrics)

    @property
    def offline_after_s(self) -> int:
        """Seconds without telemetry after which the device counts as offline."""
        return self.interval_s * self.offline_after_intervals


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """An appliance model with its warranty periods and firmware versions in the field."""

    kind: str
    model: str
    unit_warranty_months: int
    core_warranty_months: int
    firmware: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PartSpec:
    """A spare part."""

    sku: str
    name_en: str
    name_zh: str
    list_price: float
    warranty_class: WarrantyClass


@dataclass(frozen=True, slots=True)
class PartLine:
    """A quantity of one part, as a fault pre-reserves it."""

    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault code: its kind, the parts to pre-reserve and its course."""

    code: str
    kind: str
    parts: tuple[PartLine, ...]
    course: Course
    typical_days: tuple[int, int]
    summary_en: str
    summary_zh: str
    failure_en: str
    failure_zh: str

    def applies_to(self, kind: str) -> bool:
        """Whether the fault can occur on a device of ``kind``."""
        return self.kind in (ANY_KIND, kind)


@dataclass(frozen=True, slots=True)
class Pricing:
    """The numbers a quote is built from (DOMAIN.md: list price + tax + logistics)."""

    currency: str
    tax_rate: float
    logistics_fee: float
    labour_fee: float


@dataclass(frozen=True, slots=True)
class Catalog:
    """The validated catalog. Look-ups are by name, model, SKU or fault code."""

    path: Path
    pricing: Pricing
    kinds: Mapping[str, KindSpec]
    models: Mapping[str, ModelSpec]
    parts: Mapping[str, PartSpec]
    faults: Mapping[str, FaultSpec]

    def kind(self, name: str) -> KindSpec:
        """The kind called ``name``; ``KeyError`` when unknown."""
        return self.kinds[name]

    def fault(self, code: str) -> FaultSpec:
        """The fault with ``code``; ``KeyError`` when unknown."""
        return self.faults[code]

    def faults_for(self, kind: str) -> tuple[FaultSpec, ...]:
        """Every fault that can occur on ``kind``, kind-specific ones first."""
        own = [f for f in self.faults.values() if f.kind == kind]
        generic = [f for f in self.faults.values() if f.kind == ANY_KIND]
        return (*own, *generic)

    def models_for(self, kind: str) -> tuple[ModelSpec, ...]:
        """Every model of ``kind``."""
        return tuple(m for m in self.models.values() if m.kind == kind)

    def unit_of(self, kind: str, metric: str) -> str | None:
        """The unit of ``metric`` on ``kind``, or ``None`` for a metric not in the catalog."""
        spec = self.kinds.get(kind)
        if spec is None:
            return None
        for m in spec.metrics:
            if m.name == metric:
                return m.unit
        return None


def load_catalog(path: Path = DEFAULT_CATALOG_PATH) -> Catalog:
    """Load and validate a catalog file.

    Raises:
        CatalogError: the file is missing, is not TOML, or breaks a rule; the message
            names the file and the line of the entry at fault.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(path, None, f"cannot read: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(path, _toml_error_line(exc), f"not valid TOML: {exc}") from exc
    return _Builder(path, text, data).build()


@cache
def default_catalog() -> Catalog:
    """The catalog shipped with Aftercare, loaded once per process."""
    return load_catalog()


def _toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


class _Builder:
    """Turns the parsed TOML into a :class:`Catalog`, checking every rule on the way."""

    def __init__(self, path: Path, text: str, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        # tomllib keeps no positions; the n-th ``[[section]]`` header is the n-th entry.
        self.header_lines: dict[str, list[int]] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            match = re.match(r"^\s*\[\[\s*([a-z_]+)\s*\]\]", line)
            if match:
                self.header_lines.setdefault(match.group(1), []).append(number)

    def fail(self, section: str, index: int | None, message: str) -> CatalogError:
        lines = self.header_lines.get(section, [])
        line = lines[index] if index is not None and index < len(lines) else None
        return CatalogError(self.path, line, message)

    def entries(self, section: str) -> list[dict[str, Any]]:
        raw = self.data.get(section)
        if not isinstance(raw, list) or not raw:
            raise CatalogError(self.path, None, f"needs at least one [[{section}]] entry")
        return raw

    def field(self, section: str, index: int, entry: dict[str, Any], key: str, typ: type) -> Any:  # noqa: ANN401 — the TOML value, checked against typ
        value = entry.get(key)
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, typ) or (isinstance(value, bool) and typ is not bool):
            raise self.fail(section, index, f"{section} entry needs {key!r} as {typ.__name__}")
        return value

    def build(self) -> Catalog:
        pricing = self.build_pricing()
        kinds = self.build_kinds()
        parts = self.build_parts()
        models = self.build_models(kinds)
        faults = self.build_faults(kinds, parts)
        return Catalog(self.path, pricing, kinds, models, parts, faults)

    def build_pricing(self) -> Pricing:
        raw = self.data.get("pricing")
        if not isinstance(raw, dict):
            raise CatalogError(self.path, None, "needs a [pricing] table")
        try:
            return Pricing(
                currency=str(raw["currency"]),
                tax_rate=float(raw["tax_rate"]),
                logistics_fee=float(raw["logistics_fee"]),
                labour_fee=float(raw["labour_fee"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError(self.path, None, f"[pricing] is incomplete: {exc}") from exc

    def build_kinds(self) -> dict[str, KindSpec]:
        kinds: dict[str, KindSpec] = {}
        for i, entry in enumerate(self.entries("kinds")):
            name = self.field("kinds", i, entry, "name", str)
            if not _NAME.match(name) or name == ANY_KIND:
                raise self.fail("kinds", i, f"invalid kind name {name!r}")
            if name in kinds:
                raise self.fail("kinds", i, f"duplicate kind {name!r}")
            try:
                cadence = Cadence(self.field("kinds", i, entry, "cadence", str))
            except ValueError as exc:
                raise self.fail("kinds", i, f"kind {name!r}: unknown cadence") from exc
            metrics = self.build_metrics(i, name, entry.get("metrics"))
            interval = self.field("kinds", i, entry, "interval_s", int)
            offline_after = self.field("kinds", i, entry, "offline_after_intervals", int)
            if interval <= 0 or offline_after <= 0:
                raise self.fail("kinds", i, f"kind {name!r}: intervals must be positive")
            kinds[name] = KindSpec(
                name=name,
                label_en=self.field("kinds", i, entry, "label_en", str),
                label_zh=self.field("kinds", i, entry, "label_zh", str),
                cadence=cadence,
                interval_s=interval,
                offline_after_intervals=offline_after,
                metrics=metrics,
            )
        return kinds

    def build_metrics(self, i: int, kind: str, raw: object) -> tuple[MetricSpec, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("kinds", i, f"kind {kind!r} needs a non-empty metrics list")
        metrics: list[MetricSpec] = []
        for item in raw:
            if not isinstance(item, dict):
                raise self.fail("kinds", i, f"kind {kind!r}: a metric must be a table")
            name, unit = item.get("name"), item.get("unit")
            if not isinstance(name, str) or not _NAME.match(name):
                raise self.fail("kinds", i, f"kind {kind!r}: invalid metric name {name!r}")
            if not isinstance(unit, str) or not unit:
                raise self.fail("kinds", i, f"kind {kind!r}: metric {name!r} has no unit")
            if any(m.name == name for m in metrics):
                raise self.fail("kinds", i, f"kind {kind!r}: duplicate metric {name!r}")
            metrics.append(MetricSpec(name, unit))
        return tuple(metrics)

    def build_parts(self) -> dict[str, PartSpec]:
        parts: dict[str, PartSpec] = {}
        for i, entry in enumerate(self.entries("parts")):
            sku = entry.get("sku")
            if not isinstance(sku, str) or not _SKU.match(sku):
                raise self.fail("parts", i, f"part without a valid SKU: {sku!r}")
            if sku in parts:
                raise self.fail("parts", i, f"duplicate part SKU {sku!r}")
            price = self.field("parts", i, entry, "list_price", float)
            if price < 0:
                raise self.fail("parts", i, f"part {sku!r}: negative price")
            try:
                wclass = WarrantyClass(self.field("parts", i, entry, "warranty_class", str))
            except ValueError as exc:
                raise self.fail("parts", i, f"part {sku!r}: unknown warranty_class") from exc
            parts[sku] = PartSpec(
                sku=sku,
                name_en=self.field("parts", i, entry, "name_en", str),
                name_zh=self.field("parts", i, entry, "name_zh", str),
                list_price=price,
                warranty_class=wclass,
            )
        return parts

    def build_models(self, kinds: Mapping[str, KindSpec]) -> dict[str, ModelSpec]:
        models: dict[str, ModelSpec] = {}
        for i, entry in enumerate(self.entries("models")):
            model = self.field("models", i, entry, "model", str)
            kind = self.field("models", i, entry, "kind", str)
            if kind not in kinds:
                raise self.fail("models", i, f"model {model!r}: unknown kind {kind!r}")
            if model in models:
                raise self.fail("models", i, f"duplicate model {model!r}")
            firmware = entry.get("firmware")
            if not isinstance(firmware, list) or not all(isinstance(v, str) for v in firmware):
                raise self.fail("models", i, f"model {model!r}: firmware must be a string list")
            unit_months = self.field("models", i, entry, "unit_warranty_months", int)
            core_months = self.field("models", i, entry, "core_warranty_months", int)
            if core_months < unit_months:
                raise self.fail("models", i, f"model {model!r}: core warranty shorter than unit")
            models[model] = ModelSpec(kind, model, unit_months, core_months, tuple(firmware))
        return models

    def build_faults(
        self, kinds: Mapping[str, KindSpec], parts: Mapping[str, PartSpec]
    ) -> dict[str, FaultSpec]:
        faults: dict[str, FaultSpec] = {}
        for i, entry in enumerate(self.entries("faults")):
            code = entry.get("code")
            if not isinstance(code, str) or not _CODE.match(code):
                raise self.fail("faults", i, f"fault without a valid code: {code!r}")
            if code in faults:
                raise self.fail("faults", i, f"duplicate fault code {code!r}")
            kind = self.field("faults", i, entry, "kind", str)
            if kind != ANY_KIND and kind not in kinds:
                raise self.fail("faults", i, f"fault {code!r}: unknown kind {kind!r}")
            try:
                course = Course(self.field("faults", i, entry, "course", str))
            except ValueError as exc:
                raise self.fail("faults", i, f"fault {code!r}: unknown course") from exc
            days = entry.get("typical_days")
            if (
                not isinstance(days, list)
                or len(days) != 2
                or not all(isinstance(d, int) for d in days)
                or days[0] > days[1]
            ):
                raise self.fail("faults", i, f"fault {code!r}: typical_days must be [min, max]")
            faults[code] = FaultSpec(
                code=code,
                kind=kind,
                parts=self.build_part_lines(i, code, entry.get("parts"), parts),
                course=course,
                typical_days=(days[0], days[1]),
                summary_en=self.field("faults", i, entry, "summary_en", str),
                summary_zh=self.field("faults", i, entry, "summary_zh", str),
                failure_en=self.field("faults", i, entry, "failure_en", str),
                failure_zh=self.field("faults", i, entry, "failure_zh", str),
            )
        return faults

    def build_part_lines(
        self, i: int, code: str, raw: object, parts: Mapping[str, PartSpec]
    ) -> tuple[PartLine, ...]:
        if not isinstance(raw, list):
            raise self.fail("faults", i, f"fault {code!r}: parts must be a list")
        lines: list[PartLine] = []
        for item in raw:
            sku = item.get("sku") if isinstance(item, dict) else None
            if not isinstance(sku, str) or not sku:
                raise self.fail("faults", i, f"fault {code!r}: a part line has no SKU")
            if sku not in parts:
                raise self.fail("faults", i, f"fault {code!r}: unknown part SKU {sku!r}")
            qty = item.get("qty", 1)
            if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
                raise self.fail("faults", i, f"fault {code!r}: part {sku!r} needs qty >= 1")
            lines.append(PartLine(sku, qty))
        return tuple(lines)
