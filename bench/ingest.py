"""Gateway ingest throughput against a no-op paho subscriber, on one private Mosquitto.

Method (per subscriber, all in one run on one broker): the subscriber process connects
and subscribes, is frozen with ``SIGSTOP``, N native messages from 1,000 devices are
published, and it is thawed with ``SIGCONT``; it times itself from its first message to
its N-th. The broker has everything ready to send, so the figure is the subscriber's own
rate, not the (slower) Python publisher's. Messages are published at QoS 0: a QoS 1 flow
to a frozen client is held back by its Receive Maximum and Mosquitto then replays the
backlog at only ~4,000 msg/s (measured here), which would measure the broker. Ingest
in the gateway is identical for both QoS (QoS 1 adds one PUBACK per message).

The gateway's figure covers its full ingest: decode, validate, de-duplicate, detect
(``anomaly.FaultEngine``), queue faults in the outbox and write readings to the telemetry
store. By default (``--store victoria``) the bench starts a private VictoriaMetrics (the
Debian package ``victoria-metrics``, an InfluxDB-API server) on the same machine, so its
CPU is part of the cost; ``--store URL`` writes to a server of yours and ``--store -``
leaves the store off (no store buffer at all).

Prints both rates and the ratio (target >= 0.5), two gateway processes on a shared
subscription against one (target >= 1.6x), and the gateway's peak RSS (target < 150 MB).
Run: ``python bench/ingest.py --messages 100000`` (``--protocol 3.1.1`` for MQTT 3.1.1,
``--runs 3`` for the median of three runs: single runs on a two-core machine vary).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

QOS = 0
ROOT = Path(__file__).resolve().parents[1]

PAHO_CHILD = r"""
import sys, time
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
port, n, v5 = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "5"
protocol = paho.MQTTv5 if v5 else paho.MQTTv311
sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-paho", protocol=protocol)
state = {"n": 0, "t0": 0.0, "t1": 0.0}
def on_message(client, userdata, message):
    state["n"] += 1
    if state["n"] == 1:
        state["t0"] = time.perf_counter()
    if state["n"] >= n:
        state["t1"] = time.perf_counter()
        client.disconnect()
def on_subscribe(*args):
    print("ready", flush=True)
sub.on_message = on_message
sub.on_subscribe = on_subscribe
sub.connect("127.0.0.1", port)
sub.subscribe("aftercare/+/+/telemetry", qos=1)
sub.loop_forever()
print(f"result {state['n']} {state['t0']:.6f} {state['t1']:.6f} 0", flush=True)
"""

GATEWAY_CHILD = r"""
import asyncio, os, sys, time
from pathlib import Path
from gateway.runtime import GatewayRuntime
from gateway.settings import load_settings

async def main():
    url, data, client_id, n, group, store = sys.argv[1:7]
    n = int(n)
    os.environ["AFTERCARE_MQTT__CLIENT_ID"] = client_id
    if group != "-":
        os.environ["AFTERCARE_MQTT__SHARED_GROUP"] = group
    if store != "-":
        os.environ["AFTERCARE_STORE__ENABLED"] = "true"
        os.environ["AFTERCARE_STORE__URL"] = store
    settings = load_settings(None, {"broker": url, "data_dir": Path(data), "http_port": 0})
    async with GatewayRuntime(settings) as gw:
        while not gw.mqtt.connected:
            await asyncio.sleep(0.005)
        print("ready", flush=True)
        registry = gw.metrics.registry
        labels = {"source": "mqtt", "adapter": "native"}
        def done():
            # cheap enough to poll: two sample lookups, not a full collect()
            return sum(registry.get_sample_value("aftercare_messages_total",
                                                 {**labels, "result": r}) or 0.0
                       for r in ("ok", "duplicate"))
        t0 = t1 = 0.0
        last, quiet = -1.0, 0.0
        while True:
            count = done()
            now = time.perf_counter()
            if count > 0 and not t0:
                t0 = now
            if count != last:
                t1, last, quiet = now, count, now
            if count >= n or (t0 and now - quiet > 2.0):
                break
            await asyncio.sleep(0.02)
    # VmHWM, not ru_maxrss: the latter keeps the high-water mark of the bench process this
    # child was forked from (Linux carries it across exec), which holds every message
    status = Path("/proc/self/status").read_text()
    rss = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1]) / 1024
    print(f"result {last:.0f} {t0:.6f} {t1:.6f} {rss:.1f}", flush=True)

asyncio.run(main())
"""


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
        "max_inflight_messages 0\npersistence false\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    return proc, port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def start_victoria(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A private VictoriaMetrics; returns the process and its base URL."""
    port = free_port()
    binary = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
    proc = subprocess.Popen(
        [binary, f"-storageDataPath={workdir / 'vm'}", f"-httpListenAddr=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    return proc, f"http://127.0.0.1:{port}"


def stored_points(url: str) -> int:
    """Points of one metric the store holds (one per message written)."""
    import httpx

    httpx.get(f"{url}/internal/force_flush", timeout=30)
    reply = httpx.get(
        f"{url}/api/v1/export",
        params={"match[]": '{__name__="telemetry_indoor_temp_c"}'},
        timeout=120,
    )
    return sum(len(json.loads(line)["values"]) for line in reply.text.splitlines() if line)


def messages(n: int, devices: int) -> list[tuple[str, bytes]]:
    # one message a minute per device, ending now: older telemetry would make the
    # gateway's silence rule raise DEVICE_OFFLINE for the whole fleet mid-run
    per_device = -(-n // devices)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=per_device)
    out = []
    for i in range(n):
        d, seq = i % devices, i // devices
        ts = (start + timedelta(seconds=60 * seq)).isoformat().replace("+00:00", "Z")
        body = (
            f'{{"device_id":"ac-{d:06d}","home_id":"h-{d:06d}","kind":"air_conditioner",'
            f'"model":"KFR-35GW","fw":"2.3.1","ts":"{ts}","seq":{seq},'
            f'"metrics":{{"indoor_temp_c":{24 + (i % 7) * 0.1:.1f},'
            f'"compressor_current_a":{4.5 + (i % 5) * 0.1:.1f}}},"state":{{"power":"on"}}}}'
        )
        out.append((f"aftercare/h-{d:06d}/ac-{d:06d}/telemetry", body.encode()))
    return out


def publish(port: int, batch: list[tuple[str, bytes]]) -> None:
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub")
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    infos = [pub.publish(topic, payload, qos=QOS) for topic, payload in batch]
    for info in infos:
        info.wait_for_publish(60)
    time.sleep(0.5)  # let the broker pass everything on before the subscribers thaw
    pub.loop_stop()
    pub.disconnect()


def run_frozen(
    children: list[list[str]], port: int, batch: list[tuple[str, bytes]]
) -> tuple[float, float]:
    """Start subscribers, freeze them, publish, thaw; returns (msg/s, peak RSS MB)."""
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=os.environ.copy())
        for cmd in children
    ]
    for proc in procs:
        if proc.stdout is None:
            raise RuntimeError("subscriber has no stdout")
        while proc.stdout.readline().strip() != "ready":
            pass
    time.sleep(0.3)
    for proc in procs:
        proc.send_signal(signal.SIGSTOP)
    publish(port, batch)
    for proc in procs:
        proc.send_signal(signal.SIGCONT)
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        line = next(x for x in out.splitlines() if x.startswith("result"))
        _, done, t0, t1, rss = line.split()
        results.append((float(done), float(t0), float(t1), float(rss)))
    total = sum(r[0] for r in results)
    if total != len(batch):
        print(f"warning: {total:.0f} of {len(batch)} messages handled")
    elapsed = max(r[2] for r in results) - min(r[1] for r in results)
    return total / elapsed, max(r[3] for r in results)


def gateway_cmd(port: int, data: Path, client_id: str, n: int, group: str, store: str) -> list[str]:
    url = f"mqtt://127.0.0.1:{port}"
    return [sys.executable, "-c", GATEWAY_CHILD, url, str(data), client_id, str(n), group, store]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument(
        "--store",
        default="victoria",
        help="'victoria' (start a private VictoriaMetrics), an InfluxDB-API URL, or '-' (off)",
    )
    parser.add_argument("--protocol", default="5", choices=["5", "3.1.1"])
    parser.add_argument(
        "--runs", type=int, default=1, help="repeat the measurements; print each and the medians"
    )
    args = parser.parse_args()
    os.environ["AFTERCARE_MQTT__PROTOCOL"] = args.protocol
    n = args.messages
    batch = messages(n, args.devices)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker, port = start_broker(work)
        victoria = None
        if args.store == "victoria":
            victoria, args.store = start_victoria(work)
        runs: list[tuple[float, float, float, float]] = []
        try:
            for run in range(args.runs):
                paho_rate, _ = run_frozen(
                    [[sys.executable, "-c", PAHO_CHILD, str(port), str(n), args.protocol]],
                    port,
                    batch,
                )
                one = [gateway_cmd(port, work / f"gw{run}", "bench-gw", n, "-", args.store)]
                one_rate, rss = run_frozen(one, port, batch)
                two = [
                    gateway_cmd(port, work / f"s{run}-{i}", f"bench-s{i}", n, "bench", args.store)
                    for i in (1, 2)
                ]
                two_rate, _ = run_frozen(two, port, batch)
                runs.append((paho_rate, one_rate, two_rate, rss))
                if args.runs > 1:
                    print(
                        f"run {run + 1}: paho {paho_rate:,.0f} msg/s, gateway {one_rate:,.0f}"
                        f" (ratio {one_rate / paho_rate:.2f}), two {two_rate:,.0f}"
                        f" ({two_rate / one_rate:.2f}x), RSS {rss:.0f} MB",
                        flush=True,
                    )
            stored = stored_points(args.store) if victoria is not None else None
        finally:
            broker.terminate()
            broker.wait(10)
            if victoria is not None:
                victoria.terminate()
                victoria.wait(30)
    print(
        f"messages: {n} from {args.devices} devices (QoS 0 publish, QoS 1 subscription,"
        f" MQTT {args.protocol})" + (f", median of {args.runs} runs" if args.runs > 1 else "")
    )
    paho_rate = statistics.median(r[0] for r in runs)
    one_rate = statistics.median(r[1] for r in runs)
    two_rate = statistics.median(r[2] for r in runs)
    ratio = statistics.median(r[1] / r[0] for r in runs)
    scaling = statistics.median(r[2] / r[1] for r in runs)
    rss = max(r[3] for r in runs)
    print(f"paho no-op subscriber: {paho_rate:,.0f} msg/s")
    print(f"gateway, 1 process:    {one_rate:,.0f} msg/s  ratio {ratio:.2f} (target >= 0.5)")
    print(f"gateway, 2 processes:  {two_rate:,.0f} msg/s  {scaling:.2f}x one (target >= 1.6)")
    print(f"gateway peak RSS, {args.devices} devices: {rss:.0f} MB (target < 150)")
    if args.store == "-":
        print("telemetry store: off")
    elif stored is None:
        print(f"telemetry store: {args.store}")
    else:
        # both gateway phases of every run write every message's point
        print(
            f"telemetry store: private VictoriaMetrics, {stored:,} indoor_temp_c points"
            f" read back of {2 * n * args.runs:,} written"
        )


if __name__ == "__main__":
    main()
