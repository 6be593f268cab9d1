"""Forwarder decisions per answer, through ``httpx.MockTransport`` (the seam under test).

The end-to-end delivery through a real server is in ``test_runtime`` and ``test_process``;
here each status code's consequence is checked exactly and fast.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from aftercare.catalog import PartLine, Severity
from aftercare.clock import ManualClock
from anomaly.fault_report import FaultReport
from gateway.forwarder import Forwarder
from gateway.metrics import GatewayMetrics
from gateway.outbox import AsyncOutbox, Outbox
from gateway.settings import ForwarderSettings


def report(device: str) -> FaultReport:
    return FaultReport(
        device_id=device,
        fault_code="WH_ELEMENT_FAILURE",
        detected_at=datetime(2026, 11, 23, tzinfo=UTC),
        severity=Severity.HIGH,
        parts=(PartLine("WH-ELEMENT", 1),),
    )


@pytest.mark.parametrize(
    ("answers", "result", "depth"),
    [
        ([201], "created", 0),
        ([200], "duplicate", 0),
        ([503, 201], "created", 0),
        ([429, 408, 409, 201], "created", 0),
        ([422], "dead_letter", 0),
        ([401], "dead_letter", 0),
    ],
    ids=["created", "known-key", "5xx-retried", "retryable-4xx", "422-dead", "401-dead"],
)
async def test_each_answer_has_its_consequence(
    tmp_path: Path, answers: list[int], result: str, depth: int
) -> None:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(queue.pop(0) if len(queue) > 1 else queue[0])

    metrics = GatewayMetrics()
    outbox = AsyncOutbox(Outbox(tmp_path / "o.sqlite3"))
    await outbox.put(report("wh-000001"))
    settings = ForwarderSettings(cloud_url="http://cloud", token="t", backoff_min_s=0.01)
    client = httpx.AsyncClient(
        base_url="http://cloud",
        transport=httpx.MockTransport(answer),
        headers={"Authorization": "Bearer t"},
    )
    forwarder = Forwarder(
        settings, outbox, metrics, ManualClock(datetime(2026, 11, 23, tzinfo=UTC)), client=client
    )
    stop = asyncio.Event()
    task = asyncio.create_task(forwarder.run(stop))
    for _ in range(200):
        if outbox.depth == depth and len(seen) >= len(answers):
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    await client.aclose()
    assert outbox.depth == depth
    assert metrics.registry.get_sample_value("aftercare_tickets_total", {"result": result}) == 1
    assert len(seen) == len(answers)  # a dead letter is not retried; a success not repeated
    assert {r.headers["idempotency-key"] for r in seen} == {report("wh-000001").episode_key}
    await outbox.close()
