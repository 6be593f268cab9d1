"""Structured logs: JSON lines carry extra fields; text lines append them as key=value."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from aftercare.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json_lines=True)
    logging.getLogger("aftercare.test").info(
        "ticket %s created", "T-1", extra={"device_id": "ac-1"}
    )
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["msg"] == "ticket T-1 created"
    assert record["device_id"] == "ac-1"
    assert record["level"] == "info"
    assert record["logger"] == "aftercare.test"


def test_text_lines_append_extras_and_respect_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING")
    log = logging.getLogger("aftercare.test")
    log.info("hidden")
    log.warning("rejected", extra={"reason": "bad_json"})
    err = capsys.readouterr().err
    assert "hidden" not in err
    assert "rejected reason=bad_json" in err
