"""Notice tests run on SQLite and on a private PostgreSQL (both migrated and seeded once)."""

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
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    """One migrated and seeded SQLite database per session, copied by each test."""
    return make_sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def notices_pg_template() -> Iterator[PostgresTemplate]:
    with running_postgres() as cluster:
        yield PostgresTemplate.create(cluster, "notices")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def template(request: pytest.FixtureRequest) -> SqliteTemplate | PostgresTemplate:
    name = "sqlite_template" if request.param == "sqlite" else "notices_pg_template"
    chosen: SqliteTemplate | PostgresTemplate = request.getfixturevalue(name)
    return chosen


@pytest.fixture
def db_url(template: SqliteTemplate | PostgresTemplate, tmp_path: Path) -> str:
    if isinstance(template, SqliteTemplate):
        return template.copy_to(tmp_path)
    return template.clone()


@pytest.fixture
def world(db_url: str, template: SqliteTemplate | PostgresTemplate) -> Iterator[World]:
    """A migrated cloud with no delivery channel configured."""
    w = build_world(db_url, seeded=template.seeded)
    yield w
    w.engine.dispose()
