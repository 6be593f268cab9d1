"""``aftercare demo``: broker, cloud, gateway and a simulated fleet on one machine.

The fleet runs in a child process (publishing is CPU-bound and this machine has two
cores); the cloud API and the gateway share this process's event loop. Simulated time
ends "now", so the tickets look as they would in production: detected in the last few
days, with a failure predicted in the days ahead.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from aftercare.clock import SimulatedClock, SystemClock
from aftercare.demo.broker import BrokerHandle, demo_broker
from aftercare.demo.cloud import CloudHandle, running_cloud
from anomaly import FaultEngine
from firmware_sim.fleet import Fleet, FleetSpec
from firmware_sim.live import run_live
from firmware_sim.spec import DeviceSpec, fault_plan
from gateway.event_time import EventTimeDetector
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings

__all__ = ["DemoOptions", "DemoResult", "demo_fleet", "run_demo"]

logger = logging.getLogger(__name__)

# (device, kind, model, fault code or None, onset day, course days)
_DEMO_DEVICES: Final[tuple[tuple[str, str, str, str | None, float, float], ...]] = (
    ("ac-demo-01", "air_conditioner", "KFR-35GW", "AC_FILTER_CLOGGED", 10.0, 12.0),
    ("ac-demo-02", "air_conditioner", "KFR-35GW", None, 0.0, 0.0),
    ("ac-demo-03", "air_conditioner", "KFR-26GW", None, 0.0, 0.0),
    ("fr-demo-01", "refrigerator", "BCD-470WP", "FR_DOOR_GASKET_LEAK", 9.0, 14.0),
    ("fr-demo-02", "refrigerator", "BCD-470WP", None, 0.0, 0.0),
    ("wp-demo-01", "water_purifier", "RO-800G", "WP_PREFILTER_CLOG", 9.0, 14.0),
    ("wh-demo-01", "water_heater", "EC6002-Y5", None, 0.0, 0.0),
    ("wm-demo-01", "washing_machine", "XQG100-B14", None, 0.0, 0.0),
)
_HOMES: Final = ("h-demo-0", "h-demo-1", "h-demo-2")


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How the demo runs.

    Attributes:
        duration_s: wall-clock bound of the whole run.
        days: simulated days the fleet plays (ending now).
        speed: simulated seconds per real second.
        data_dir: where databases and the outbox go (a temporary directory when None).
        broker: ``auto``, ``mosquitto`` or ``amqtt``.
        keep_serving: keep the cloud up after the fleet ends, until interrupted.
    """

    duration_s: float = 60.0
    days: float = 24.0
    speed: float = 40_000.0
    data_dir: Path | None = None
    broker: str = "auto"
    keep_serving: bool = False


@dataclass(slots=True)
class DemoResult:
    """What the demo did: the JSON summary of ``aftercare demo --json``."""

    devices: int = 0
    messages: int = 0
    tickets: list[dict[str, Any]] = field(default_factory=list)
    cloud_url: str = ""
    broker: str = ""
    staff: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The summary: devices, messages, and each ticket's id, device, fault, parts and url.

        Each ticket's ``url`` is its staff page.
        """
        return {"devices": self.devices, "messages": self.messages, "tickets": self.tickets}


def demo_fleet(end: datetime, days: float) -> FleetSpec:
    """The demo's mixed fleet, simulated over ``days`` ending at ``end``."""
    start = end - timedelta(days=days)
    devices = []
    for index, (device_id, kind, model, code, onset, course) in enumerate(_DEMO_DEVICES):
        devices.append(
            DeviceSpec(
                device_id=device_id,
                kind=kind,
                home_id=_HOMES[index % len(_HOMES)],
                model=model,
                fw="2.3.1" if kind == "air_conditioner" else _first_firmware(model),
                index=index + 1,
                fault=fault_plan(code, start + timedelta(days=onset), course) if code else None,
            )
        )
    return FleetSpec(devices=tuple(devices), start=start, days=days, seed=2026)


def _first_firmware(model: str) -> str:
    from aftercare.catalog import default_catalog

    return default_catalog().models[model].firmware[0]


def _publish_fleet(spec: FleetSpec, broker_url: str, speed: float, prefix: str) -> None:
    """Child process: play the fleet live on its own simulated clock."""
    fleet = Fleet(spec)
    clock = SimulatedClock(spec.start, speed=speed)
    asyncio.run(run_live(fleet, broker_url, clock, client_id_prefix=prefix))


@contextmanager
def _fleet_process(spec: FleetSpec, broker: BrokerHandle, speed: float) -> Iterator[Any]:
    context = multiprocessing.get_context("spawn")
    prefix = f"demo-{uuid.uuid4().hex[:6]}-"
    process = context.Process(
        target=_publish_fleet, args=(spec, broker.url, speed, prefix), name="aftercare-sim"
    )
    process.start()
    try:
        yield process
    finally:
        if process.is_alive():
            process.terminate()
        process.join(timeout=10)


def _registry(spec: FleetSpec) -> list[dict[str, Any]]:
    return [
        {
            "id": d.device_id,
            "kind": d.kind,
            "model": d.model,
            "home_id": d.home_id,
            "firmware": d.fw,
        }
        for d in spec.devices
    ]


class _Watcher:
    """Polls the cloud for tickets and renders the live progress table."""

    def __init__(self, cloud: CloudHandle, gateway: GatewayRuntime, spec: FleetSpec) -> None:
        self.cloud = cloud
        self.gateway = gateway
        self.spec = spec
        self.tickets: list[dict[str, Any]] = []
        self.token: str | None = None

    def processed(self) -> int:
        return int(
            sum(
                s.value
                for metric in self.gateway.metrics.messages.collect()
                for s in metric.samples
                if s.name == "aftercare_messages_total"
            )
        )

    async def refresh(self, client: httpx.AsyncClient) -> None:
        if self.token is None:
            username, password = self.cloud.staff_login("manager")
            reply = await client.post(
                "/v1/auth/token", data={"username": username, "password": password}
            )
            reply.raise_for_status()
            self.token = reply.json()["access_token"]
        reply = await client.get(
            "/v1/tickets",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        reply.raise_for_status()
        self.tickets = reply.json()["data"]

    def table(self, elapsed: float, detector: EventTimeDetector) -> Table:
        table = Table(title="Aftercare demo", expand=False)
        table.add_column("what")
        table.add_column("now", justify="right")
        watermark = detector.watermark
        sim_day = (watermark - self.spec.start).total_seconds() / 86400 if watermark else 0.0
        table.add_row("wall time", f"{elapsed:5.1f} s")
        table.add_row("simulated day", f"{sim_day:4.1f} / {self.spec.days:.0f}")
        table.add_row("messages through the gateway", f"{self.processed():,}")
        table.add_row("tickets waiting in the outbox", str(self.gateway.outbox.depth))
        table.add_row("tickets in the cloud", str(len(self.tickets)))
        for ticket in self.tickets[:8]:
            parts = ", ".join(r["sku"] for r in ticket.get("reservations", []))
            table.add_row(
                f"  {ticket['device_id']}", f"{ticket['fault_code']} [{parts or 'no parts'}]"
            )
        return table


async def run_demo(options: DemoOptions, console: Console) -> DemoResult:
    """Run the demo and return what happened."""
    began = time.monotonic()
    spec = demo_fleet(SystemClock().now(), options.days)
    result = DemoResult(devices=len(spec.devices))
    async with AsyncExitStack() as stack:
        workdir = options.data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        broker = await stack.enter_async_context(demo_broker(workdir, prefer=options.broker))
        cloud = await stack.enter_async_context(
            running_cloud(workdir, _registry(spec), clock=SystemClock())
        )
        result.cloud_url, result.broker, result.staff = cloud.url, broker.kind, cloud.staff
        _print_where(console, cloud, broker)
        detector = EventTimeDetector(FaultEngine())
        settings = GatewaySettings(
            data_dir=workdir / "gateway",
            http_port=0,
            mqtt={
                "url": broker.url,
                "client_id": f"demo-gateway-{uuid.uuid4().hex[:6]}",
                "protocol": "5" if broker.mqtt5 else "3.1.1",
            },
            forwarder={"cloud_url": cloud.url, "token": cloud.gateway_token},
        )
        gateway = await stack.enter_async_context(GatewayRuntime(settings, detector=detector))
        watcher = _Watcher(cloud, gateway, spec)
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=cloud.url))
        with (
            _fleet_process(spec, broker, options.speed) as process,
            Live(console=console, refresh_per_second=4, transient=False) as live,
        ):
            while time.monotonic() - began < options.duration_s:
                await asyncio.sleep(1.0)
                await watcher.refresh(client)
                live.update(watcher.table(time.monotonic() - began, detector))
                if not process.is_alive() and gateway.outbox.depth == 0:
                    break
        await watcher.refresh(client)
        result.messages = watcher.processed()
        result.tickets = [
            {
                "id": t["id"],
                "device_id": t["device_id"],
                "fault_code": t["fault_code"],
                "parts": [{"sku": r["sku"], "qty": r["qty"]} for r in t.get("reservations", [])],
                "url": f"{cloud.url}/staff/tickets/{t['id']}",
            }
            for t in watcher.tickets
        ]
        _print_summary(console, result)
        if options.keep_serving:
            console.print("[bold]Serving until Ctrl-C.[/bold]")
            await asyncio.Event().wait()
    return result


def _print_where(console: Console, cloud: CloudHandle, broker: BrokerHandle) -> None:
    console.print(f"[bold]Broker[/bold]   {broker.url} ({broker.kind})")
    console.print(f"[bold]API docs[/bold] {cloud.url}/docs")
    console.print(f"[bold]Staff[/bold]    {cloud.url}/staff")
    for user in cloud.staff:
        console.print(f"          {user['role']:<9} {user['username']} / {user['password']}")


def _print_summary(console: Console, result: DemoResult) -> None:
    console.print(
        f"[bold]{result.devices} devices, {result.messages:,} messages, "
        f"{len(result.tickets)} tickets[/bold]"
    )
    for ticket in result.tickets:
        parts = ", ".join(p["sku"] for p in ticket["parts"]) or "no parts"
        console.print(f"  {ticket['device_id']:<12} {ticket['fault_code']:<24} {parts}")
        console.print(f"  {'':<12} {ticket['url']}")
