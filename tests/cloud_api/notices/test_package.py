"""The notify package's public names (httpx's one-line guard, STYLE 10.1)."""

from __future__ import annotations

import cloud_api.notify as notify


def test_notify_exports_exactly_its_public_names() -> None:
    public = {
        name
        for name, value in vars(notify).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("cloud_api.")
    }
    assert set(notify.__all__) == public
