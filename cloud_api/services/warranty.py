"""Warranty decision and quote at intake (SERVICE_FLOW section 6, DOMAIN.md).

Whole-unit coverage = purchase date + the model's warranty months; each part is covered
while the unit is (wear parts) or for the model's longer core period (core parts);
labour is covered iff the unit is. Out of warranty the customer gets a quote:
list price + tax + logistics + labour.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from aftercare.catalog import Catalog, WarrantyClass

__all__ = ["PartPrice", "add_months", "covers", "decide"]


@dataclass(frozen=True, slots=True)
class PartPrice:
    """What the decision needs to know about a part."""

    sku: str
    qty: int
    list_price: float
    warranty_class: str


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def covers(decision: dict[str, Any], warranty_class: str, on: date) -> bool:
    """Whether a stored decision covers a part of ``warranty_class`` on ``on``.

    Parts added after intake (a second visit) are judged by the same dates.
    """
    key = "core_covered_until" if warranty_class == WarrantyClass.CORE else "unit_covered_until"
    until = decision.get(key)
    return isinstance(until, str) and on <= date.fromisoformat(until)


def decide(
    *,
    catalog: Catalog,
    model: str,
    purchase_date: date,
    on: date,
    parts: list[PartPrice],
) -> dict[str, Any]:
    """The warranty decision, with its inputs, and the quote when the customer pays.

    Unknown models get no warranty period (customer pays), so a registry typo cannot
    silently give free repairs.
    """
    spec = catalog.models.get(model)
    unit_months = spec.unit_warranty_months if spec else 0
    core_months = spec.core_warranty_months if spec else 0
    unit_until = add_months(purchase_date, unit_months)
    core_until = add_months(purchase_date, max(core_months, unit_months))
    unit_covered = on <= unit_until
    core_covered = on <= core_until
    covered_parts: list[str] = []
    paid: list[PartPrice] = []
    for part in parts:
        covered = core_covered if part.warranty_class == WarrantyClass.CORE else unit_covered
        (covered_parts.append(part.sku) if covered else paid.append(part))
    customer_pays = bool(paid) or (not unit_covered)
    return {
        "covered": unit_covered,
        "unit_covered_until": unit_until.isoformat(),
        "core_covered_until": core_until.isoformat(),
        "purchase_date": purchase_date.isoformat(),
        "model": model,
        "decided_on": on.isoformat(),
        "covered_parts": covered_parts,
        "labour_covered": unit_covered,
        "customer_pays": customer_pays,
        "quote": _quote(catalog, paid, labour=not unit_covered) if customer_pays else None,
    }


def _quote(catalog: Catalog, paid: list[PartPrice], *, labour: bool) -> dict[str, Any]:
    pricing = catalog.pricing
    lines = [
        {
            "sku": p.sku,
            "qty": p.qty,
            "unit_price": p.list_price,
            "amount": round(p.list_price * p.qty, 2),
        }
        for p in paid
    ]
    parts_total = round(sum(p.list_price * p.qty for p in paid), 2)
    tax = round(parts_total * pricing.tax_rate, 2)
    logistics = pricing.logistics_fee if paid else 0.0
    labour_fee = pricing.labour_fee if labour else 0.0
    return {
        "currency": pricing.currency,
        "lines": lines,
        "parts": parts_total,
        "tax": tax,
        "tax_rate": pricing.tax_rate,
        "logistics": logistics,
        "labour": labour_fee,
        "total": round(parts_total + tax + logistics + labour_fee, 2),
    }
