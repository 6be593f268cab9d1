"""Every cloud model; importing this package registers all tables on ``Base.metadata``.

Each area's engineer adds one import line for their module here.
"""

from __future__ import annotations

from cloud_api.models import idempotency, notices, parts, registry, settlement, tickets
from cloud_api.models.base import Base

__all__ = ["Base", "idempotency", "notices", "parts", "registry", "settlement", "tickets"]
