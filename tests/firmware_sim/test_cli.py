"""The ``aftercare sim`` commands as a user runs them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import serial
from typer.testing import CliRunner

from aftercare.cli import app
from firmware_sim.plot import PLOTS, render
from firmware_sim.tuya_protocol import FrameParser


def test_export_prints_a_summary_and_writes_both_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["sim", "export", "--devices", "8", "--days", "1", "--seed", "2", "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "messages from 8 devices" in result.output
    assert (tmp_path / "telemetry.jsonl").stat().st_size > 0
    assert (tmp_path / "labels.json").stat().st_size > 0


def test_serial_rejects_a_fault_of_another_kind() -> None:
    result = CliRunner().invoke(
        app, ["sim", "serial", "--kind", "refrigerator", "--fault", "AC_FILTER_CLOGGED"]
    )
    assert result.exit_code == 2


@pytest.mark.integration
async def test_serial_command_prints_a_pty_path_that_speaks_tuya() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from aftercare.cli import main; main()",
        *("sim", "serial", "--kind", "water_heater", "--protocol", "tuya", "--duration", "8"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        path = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        assert path.startswith("/dev/pts/")
        port = serial.Serial(path, 9600, timeout=0.2)
        try:
            port.reset_input_buffer()
            port.write(bytes.fromhex("55 AA 00 00 00 00 FF"))
            parser = FrameParser()
            frames = []
            for _ in range(40):
                await asyncio.sleep(0.05)
                if port.in_waiting:
                    frames += parser.feed(port.read(port.in_waiting))
                if any(f.command == 0 for f in frames):
                    break
            assert any(f.command == 0 and f.version == 3 for f in frames)
        finally:
            port.close()
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)


def test_plot_renders_a_small_png(tmp_path: Path) -> None:
    path = render(PLOTS[-1], tmp_path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 10_000 < len(data) < 150_000
