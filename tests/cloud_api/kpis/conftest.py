"""KPI tests run on SQLite and on a private PostgreSQL (both migrated and seeded once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloud_api.notices.world import (
    PostgresTemplate,
    SqliteTemplate,
    World,
    build_world,
    make_sqlite_template,
)
from tests.support.postgres import running_postgres


@pytest.fixture(scope="session")
def kpi_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    """One migrated and seeded SQLite database per session, copied by each test."""
    return make_sqlite_template(tmp_path_factory.mktemp("kpi-template"))


@pytest.fixture(scope="session")
def pg_template() -> Iterator[PostgresTemplate]:
    with running_postgres() as cluster:
        yield PostgresTemplate.create(cluster, "kpis")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A seeded cloud on each backend."""
    if request.param == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("kpi_template")
        w = build_world(template.copy_to(tmp_path), seeded=template.seeded)
    else:
        pg: PostgresTemplate = request.getfixturevalue("pg_template")
        w = build_world(pg.clone(), seeded=pg.seeded)
    yield w
    w.engine.dispose()
