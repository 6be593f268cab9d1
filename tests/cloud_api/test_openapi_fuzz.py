"""schemathesis against /openapi.json: no input makes the API answer 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.cloud_api.conftest import Cloud

# Small per-operation budget: the whole run stays well under two minutes on 2 cores.
EXAMPLES = 6


@pytest.mark.slow
def test_openapi_fuzzing_finds_no_server_errors(cloud: Cloud) -> None:
    schema = schemathesis.openapi.from_url(f"{cloud.url}/openapi.json")
    headers = cloud.staff("admin")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case[Any]) -> None:
            response = case.call(headers=headers, base_url=cloud.url)
            if response.status_code >= 500:
                where = f"{case.method} {case.formatted_path}"
                failures.append(f"{where}: {response.status_code} {response.text[:200]}")

        check()
    assert failures == []
