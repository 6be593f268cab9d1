"""The ``aftercare sim`` commands: export, run (live MQTT), serial, plot."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="The simulated fleet: export, live MQTT, serial, charts.", no_args_is_help=True
)


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    from aftercare.clock import ensure_utc

    return ensure_utc(datetime.fromisoformat(value))


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Directory for the two files.")],
    devices: Annotated[int, typer.Option("--devices", min=1, help="How many devices.")] = 60,
    days: Annotated[float, typer.Option("--days", min=0.1, help="Simulated days.")] = 60.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random stream.")] = 0,
    start: Annotated[
        str | None, typer.Option("--start", help="Window start, RFC 3339 (default 2026-06-01).")
    ] = None,
    fault_share: Annotated[
        float, typer.Option("--fault-share", min=0.0, max=1.0, help="Share of faulty devices.")
    ] = 0.375,
    clean: Annotated[
        bool, typer.Option("--clean", help="No missing, duplicate or late messages.")
    ] = False,
) -> None:
    """Write a recorded fleet: telemetry.jsonl (native messages) and labels.json."""
    from firmware_sim.export import export_fleet
    from firmware_sim.fleet import DEFAULT_START, Fleet, FleetSpec
    from firmware_sim.wire import Artefacts

    began = time.perf_counter()
    spec = FleetSpec.random(
        devices,
        days=days,
        seed=seed,
        start=_parse_start(start) or DEFAULT_START,
        fault_share=fault_share,
    )
    if clean:
        from dataclasses import replace

        spec = replace(spec, artefacts=Artefacts.none())
    result = export_fleet(Fleet(spec), out)
    elapsed = time.perf_counter() - began
    typer.echo(
        f"{result.messages} messages from {result.devices} devices "
        f"({result.faulty} faulty, {result.failures_in_window} functional failures in the window) "
        f"in {elapsed:.1f} s -> {result.telemetry}, {result.labels}"
    )


@app.command("run")
def run_command(
    broker: Annotated[
        str, typer.Option("--broker", help="mqtt://host:port")
    ] = "mqtt://127.0.0.1:1883",
    devices: Annotated[int, typer.Option("--devices", min=1, help="How many devices.")] = 12,
    speed: Annotated[
        float, typer.Option("--speed", min=0.001, help="Simulated seconds per real second.")
    ] = 1.0,
    formats: Annotated[
        str,
        typer.Option(
            "--formats", help="Comma-separated: native,zigbee2mqtt,tasmota,shelly (round-robin)."
        ),
    ] = "native",
    days: Annotated[
        float, typer.Option("--days", min=0.01, help="Simulated days to cover.")
    ] = 30.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random stream.")] = 0,
    start: Annotated[
        str | None, typer.Option("--start", help="Simulated start, RFC 3339 (default: now).")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many real seconds.")
    ] = None,
    fault_share: Annotated[
        float, typer.Option("--fault-share", min=0.0, max=1.0, help="Share of faulty devices.")
    ] = 0.375,
    client_id_prefix: Annotated[
        str, typer.Option("--client-id-prefix", help="MQTT client id prefix.")
    ] = "aftercare-sim-",
) -> None:
    """Publish a simulated fleet live over MQTT (each device with its last will)."""
    import asyncio

    from aftercare.clock import SimulatedClock, SystemClock
    from firmware_sim.fleet import Fleet, FleetSpec
    from firmware_sim.live import run_live
    from firmware_sim.spec import WireFormat

    try:
        wire = [WireFormat(name.strip()) for name in formats.split(",") if name.strip()]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--formats") from exc
    begin = _parse_start(start) or SystemClock().now().replace(microsecond=0)
    spec = FleetSpec.random(
        devices, days=days, seed=seed, start=begin, fault_share=fault_share, formats=wire
    )
    fleet = Fleet(spec)
    clock = SimulatedClock(begin, speed=speed)
    typer.echo(
        f"publishing {devices} devices ({formats}) to {broker} at {speed}x from {begin.isoformat()}"
    )
    stats = asyncio.run(
        run_live(
            fleet,
            broker,
            clock,
            client_id_prefix=client_id_prefix,
            duration=duration * speed if duration is not None else None,
        )
    )
    typer.echo(
        f"published {stats.published} messages ({stats.dropped} dropped, "
        f"{stats.reconnects} reconnects), last at {stats.last_ts}"
    )


@app.command("serial")
def serial_command(
    kind: Annotated[str, typer.Option("--kind", help="A catalog kind, e.g. air_conditioner.")],
    protocol: Annotated[str, typer.Option("--protocol", help="modbus or tuya.")] = "modbus",
    fault: Annotated[str | None, typer.Option("--fault", help="A fault code to develop.")] = None,
    onset_days: Annotated[float, typer.Option("--onset-days", help="Days until onset.")] = 1.0,
    course_days: Annotated[
        float | None, typer.Option("--course-days", help="Days from onset to failure.")
    ] = None,
    speed: Annotated[float, typer.Option("--speed", min=0.001, help="Clock speed.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    corrupt: Annotated[
        float, typer.Option("--corrupt", min=0.0, max=1.0, help="Rate of corrupted frames.")
    ] = 0.0,
    unit_id: Annotated[int, typer.Option("--unit-id", min=1, max=247)] = 1,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many real seconds.")
    ] = None,
) -> None:
    """Expose one appliance on a pseudo-terminal (Modbus RTU slave or Tuya MCU); print its path."""
    import asyncio
    import contextlib

    from aftercare.catalog import default_catalog
    from aftercare.clock import SimulatedClock, SystemClock
    from firmware_sim.serial_common import SerialAppliance, SerialServer

    catalog = default_catalog()
    if kind not in catalog.kinds:
        raise typer.BadParameter(f"unknown kind {kind!r}", param_hint="--kind")
    if fault is not None and (
        fault not in catalog.faults or not catalog.fault(fault).applies_to(kind)
    ):
        raise typer.BadParameter(f"{fault!r} is not a fault of {kind}", param_hint="--fault")
    if protocol not in ("modbus", "tuya"):
        raise typer.BadParameter("use modbus or tuya", param_hint="--protocol")
    start = SystemClock().now().replace(microsecond=0)
    appliance = SerialAppliance(
        kind,
        start=start,
        seed=seed,
        fault=fault,
        onset_days=onset_days,
        course_days=course_days,
        days=max(30.0, onset_days + (course_days or 0) * 1.5 + 5),
    )
    clock = SimulatedClock(start, speed=speed)

    async def serve() -> None:
        stop = asyncio.Event()
        server: SerialServer
        if protocol == "modbus":
            from firmware_sim.serial_modbus import ModbusAppliance

            server = ModbusAppliance(appliance, clock, unit_id=unit_id, corrupt=corrupt, seed=seed)
        else:
            from firmware_sim.serial_tuya import TuyaAppliance

            server = TuyaAppliance(appliance, clock, corrupt=corrupt, seed=seed)
        typer.echo(server.path)
        typer.echo(f"{protocol} {kind} ({fault or 'healthy'}) at {speed}x", err=True)
        task = asyncio.create_task(server.serve(stop))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout=duration)
        stop.set()
        await task

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


@app.command("plot")
def plot_command(
    out: Annotated[Path, typer.Option("--out", help="Directory for the PNG charts.")] = Path(
        "docs/sim"
    ),
    seed: Annotated[int, typer.Option("--seed")] = 11,
) -> None:
    """Render one PNG per kind: a faulty device against its healthy twin."""
    from firmware_sim.plot import render_all

    for path in render_all(out, seed=seed):
        typer.echo(f"{path} ({path.stat().st_size // 1024} KiB)")
