"""The Jinja2 environment of the staff pages: template folder, filters and shared context."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

__all__ = [
    "ALL_STAFF_ROLES",
    "DESK_ROLES",
    "DISPLAY_TZ",
    "MANAGER_ROLES",
    "NAV_ITEMS",
    "STATIC_DIR",
    "STATIC_PREFIX",
    "TEMPLATE_DIR",
    "format_count",
    "format_dt",
    "make_templates",
]

TEMPLATE_DIR: Final = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"
STATIC_PREFIX: Final = "/staff/static"
# Stations and customers are in China; staff read local time, the API stays in UTC.
DISPLAY_TZ: Final = ZoneInfo("Asia/Shanghai")

ALL_STAFF_ROLES: Final = frozenset({"agent", "station", "engineer", "manager", "admin"})
DESK_ROLES: Final = frozenset({"agent", "station", "manager", "admin"})
MANAGER_ROLES: Final = frozenset({"manager", "admin"})
# (nav key, href, roles that see the link). Pages check roles again on their own.
NAV_ITEMS: Final = (
    ("queue", "/staff/queue", DESK_ROLES | {"engineer"}),
    ("today", "/staff/today", frozenset({"engineer", "station", "admin"})),
    ("kpis", "/staff/kpis", MANAGER_ROLES | {"agent"}),
    ("quality", "/staff/quality", MANAGER_ROLES),
    ("settlement", "/staff/settlement", MANAGER_ROLES | {"station"}),
)


def format_dt(value: datetime | None, tz: tzinfo = DISPLAY_TZ) -> str:
    """A timestamp in the staff's local time, minutes precision; an em dash for None."""
    if value is None:
        return "—"
    aware = value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
    return aware.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def format_count(value: float | None) -> str:
    """A count as an integer when it is one ("3", not "3.0")."""
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _static_url(name: str) -> str:
    return f"{STATIC_PREFIX}/{name}"


def make_templates() -> Jinja2Templates:
    """The templates object the page routers render with (autoescaping on)."""
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    templates.env.filters["dt"] = format_dt
    templates.env.filters["num"] = format_count
    templates.env.globals["static_url"] = _static_url
    templates.env.globals["nav_items"] = NAV_ITEMS
    templates.env.globals["tz"] = DISPLAY_TZ
    return templates
