"""The `aftercare gateway` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.replay import replay_command

__all__ = ["app", "replay_command"]

app = typer.Typer(help="gateway commands", no_args_is_help=True)


@app.command("run")
def run_command(
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (see docs/gateway.md).")
    ] = None,
    broker: Annotated[
        str | None, typer.Option("--broker", help="MQTT broker, mqtt://host:port.")
    ] = None,
    cloud: Annotated[str | None, typer.Option("--cloud", help="Cloud API base URL.")] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="The gateway's bearer token.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where the outbox lives.")
    ] = None,
    http_port: Annotated[
        int | None, typer.Option("--http-port", help="Port of /healthz and /metrics.")
    ] = None,
) -> None:
    """Run the gateway: MQTT and serial ingest, detection, outbox, forwarder, store."""
    import asyncio
    import signal

    from gateway.exceptions import ConfigError
    from gateway.runtime import GatewayRuntime
    from gateway.settings import load_settings

    flags = {
        "broker": broker,
        "cloud": cloud,
        "token": token,
        "data_dir": data_dir,
        "http_port": http_port,
    }
    try:
        settings = load_settings(config, flags)
    except ConfigError as exc:
        typer.echo(f"aftercare gateway run: {exc}", err=True)
        raise typer.Exit(2) from exc

    async def main() -> None:
        runtime = GatewayRuntime(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, runtime.stop.set)
        await runtime.run()

    try:
        asyncio.run(main())
    except ConfigError as exc:
        typer.echo(f"aftercare gateway run: {exc}", err=True)
        raise typer.Exit(2) from exc
