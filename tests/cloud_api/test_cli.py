"""`aftercare cloud seed --demo`, create and import (Contract 4 and issue 6 point 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from cloud_api.cli import app


def test_seed_demo_prints_the_contract_object(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    out = subprocess.run(
        [sys.executable, "-m", "aftercare.cli", "cloud", "seed", "--demo", "--db", db],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    data = json.loads(out.stdout)
    assert set(data) == {"gateway", "staff", "devices"}
    assert set(data["gateway"]) == {"id", "token"}
    assert {s["role"] for s in data["staff"]} == {
        "agent",
        "station",
        "engineer",
        "manager",
        "admin",
    }
    assert all(set(s) == {"username", "password", "role"} for s in data["staff"])
    kinds = {d["kind"] for d in data["devices"]}
    assert kinds == {
        "air_conditioner",
        "refrigerator",
        "washing_machine",
        "water_purifier",
        "water_heater",
        "robot_vacuum",
    }
    assert all(set(d) == {"id", "kind", "model", "home_id"} for d in data["devices"])


def test_seed_registers_given_devices(tmp_path: Path) -> None:
    devices = tmp_path / "devices.json"
    devices.write_text(
        json.dumps([{"id": "ac-000042", "kind": "air_conditioner", "home_id": "h-000017"}])
    )
    db = f"sqlite:///{tmp_path / 'c.db'}"
    result = CliRunner().invoke(app, ["seed", "--demo", "--db", db, "--devices-json", str(devices)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["devices"] == [
        {"id": "ac-000042", "kind": "air_conditioner", "model": "KFR-35GW", "home_id": "h-000017"}
    ]
    engine = create_engine(db)
    with engine.connect() as conn:
        gateway = conn.execute(text("SELECT gateway_id FROM homes WHERE id = 'h-000017'")).scalar()
    engine.dispose()
    assert gateway == data["gateway"]["id"]


def test_import_csv_and_json_all_or_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    runner = CliRunner()
    customers = tmp_path / "customers.csv"
    customers.write_text("id,name,phone\nc-1,Ann,123\nc-2,Bo,456\n")
    assert runner.invoke(app, ["import", "customers", str(customers), "--db", db]).exit_code == 0
    stations = tmp_path / "stations.json"
    stations.write_text(
        json.dumps([{"id": "st-a", "name": "A", "regions": ["r1"], "skills": ["refrigerator"]}])
    )
    assert runner.invoke(app, ["import", "stations", str(stations), "--db", db]).exit_code == 0
    bad = tmp_path / "homes.csv"
    bad.write_text("id,customer_id,region\nh-1,c-1,r1\nh-2,c-missing,r1\n")
    result = runner.invoke(app, ["import", "homes", str(bad), "--db", db])
    assert result.exit_code == 2
    assert "row 2" in result.output
    created = runner.invoke(app, ["create", "gateways", "id=gw-1", "--db", db])
    assert created.exit_code == 0
    assert json.loads(created.stdout.strip().splitlines()[-1])["token"].startswith("agw_")
    engine = create_engine(db)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM homes")).scalar() == 0
        assert conn.execute(text("SELECT id FROM warehouses")).scalar() == "wh-st-a"
    engine.dispose()
