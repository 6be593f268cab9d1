"""The ``aftercare`` console script: one entry point, a sub-command group per package.

Each package owns its commands in its own ``cli`` module; this module only mounts them,
configures logging once, and keeps start-up fast (heavy imports happen inside commands).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aftercare.logs import configure_logging
from anomaly.cli import app as anomaly_app
from cloud_api.cli import app as cloud_app
from firmware_sim.cli import app as sim_app
from gateway.cli import app as gateway_app
from gateway.cli import replay_command

app = typer.Typer(
    name="aftercare",
    help="Aftercare: see appliance faults coming, raise the ticket, reserve the part.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(sim_app, name="sim")
app.add_typer(anomaly_app, name="anomaly")
app.add_typer(gateway_app, name="gateway")
app.add_typer(cloud_app, name="cloud")
app.command("replay")(replay_command)


@app.callback()
def _root(
    log_level: str = typer.Option("INFO", "--log-level", envvar="AFTERCARE_LOG_LEVEL"),
    log_json: bool = typer.Option(False, "--log-json", help="Log one JSON object per line."),
) -> None:
    """Aftercare: predictive after-sales service for smart-home appliances."""
    configure_logging(log_level, json_lines=log_json)


@app.command("demo")
def demo_command(
    duration: Annotated[float, typer.Option(help="Stop after this many seconds.")] = 60.0,
    json_out: Annotated[
        bool, typer.Option("--json", help="End with one JSON summary on stdout.")
    ] = False,
    days: Annotated[float, typer.Option(help="Simulated days the fleet plays.")] = 24.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 40_000.0,
    data_dir: Annotated[Path | None, typer.Option(help="Keep databases here.")] = None,
    broker: Annotated[str, typer.Option(help="auto, mosquitto or amqtt.")] = "auto",
    keep_serving: Annotated[
        bool, typer.Option(help="Keep the cloud and its pages up until Ctrl-C.")
    ] = False,
) -> None:
    """Run the whole system on this machine: fleet, broker, gateway and cloud."""
    from aftercare.demo.runner import DemoOptions, run_demo

    # with --json, stdout carries only the summary; the live view goes to stderr
    console = Console(stderr=json_out)
    options = DemoOptions(
        duration_s=duration,
        days=days,
        speed=speed,
        data_dir=data_dir,
        broker=broker,
        keep_serving=keep_serving,
    )
    result = asyncio.run(run_demo(options, console))
    if json_out:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    if not result.tickets:
        console.print("[red]no ticket was raised in the time given[/red]")
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
