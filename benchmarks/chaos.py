"""Chaos: the agent under random `kill -9`, broker outages, a paused and a killed cloud tier, and
network partitions and throttling between the agent and its broker and cloud; then count what
was lost and what was duplicated.

- Ground truth for "produced" comes from the outbox itself: a SQLite trigger the benchmark adds
  logs every row the agent commits (never the agent's own counters).
- Delivered: what a real `mosquitto_sub` (QoS 1, persistent session) received from a real
  Mosquitto (persistence on, stopped with SIGTERM so it saves what it holds).
- The agent runs in a network namespace joined to the host by a veth pair (private addresses,
  nothing leaves the machine): a partition takes the link down; throttling puts a token-bucket
  (tbf) on it, which delays and drops under load. tc netem is used for delay and loss where the
  kernel has it; where it does not (or namespaces are not allowed), the figures say so.

    sudo python benchmarks/chaos.py --kills 200 --json out/chaos.json
"""

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TESTDATA, print_columns, write_json

from edgeplan.agent.outbox import Outbox

CLI = [sys.executable, "-c", "from edgeplan.cli.main import app; app()"]
NS, HOST_IF, NS_IF = "edgeplan-chaos", "epc-host", "epc-ns"
HOST_IP, NS_IP = "10.231.0.1", "10.231.0.2"
MOSQUITTO = "/usr/sbin/mosquitto"


def sh(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


class Net:
    """The agent's network namespace and the link to it; `available` says why not, if not."""

    def __init__(self) -> None:
        self.available, self.why, self.netem = False, "", False
        sh("ip", "netns", "del", NS)
        steps = [
            ("ip", "netns", "add", NS),
            ("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF),
            ("ip", "link", "set", NS_IF, "netns", NS),
            ("ip", "addr", "add", f"{HOST_IP}/24", "dev", HOST_IF),
            ("ip", "link", "set", HOST_IF, "up"),
            ("ip", "netns", "exec", NS, "ip", "addr", "add", f"{NS_IP}/24", "dev", NS_IF),
            ("ip", "netns", "exec", NS, "ip", "link", "set", NS_IF, "up"),
            ("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up"),
        ]
        for step in steps:
            r = sh(*step)
            if r.returncode:
                self.why = f"network namespace unavailable ({' '.join(step)}: {r.stderr.strip()})"
                self.close()
                return
        self.available = True
        r = sh("tc", "qdisc", "add", "dev", HOST_IF, "root", "netem", "delay", "1ms")
        self.netem = r.returncode == 0
        sh("tc", "qdisc", "del", "dev", HOST_IF, "root")
        if not self.netem:
            self.why = f"tc netem unavailable on this kernel ({r.stderr.strip()}): tbf used"

    def wrap(self, cmd: list[str]) -> list[str]:
        return ["ip", "netns", "exec", NS, *cmd] if self.available else cmd

    @property
    def host(self) -> str:
        return HOST_IP if self.available else "127.0.0.1"

    def partition(self, on: bool) -> None:
        sh("ip", "link", "set", HOST_IF, "down" if on else "up")

    def impair(self, on: bool) -> None:
        """Delay and loss (netem) or a 64 kbit/s token bucket (queueing delay, drops)."""
        if not on:
            sh("tc", "qdisc", "del", "dev", HOST_IF, "root")
        elif self.netem:
            sh("tc", "qdisc", "add", "dev", HOST_IF, "root", "netem", "delay", "200ms", "50ms",
               "loss", "10%")  # fmt: skip
        else:
            sh("tc", "qdisc", "add", "dev", HOST_IF, "root", "tbf", "rate", "64kbit", "burst",
               "4kb", "latency", "300ms")  # fmt: skip

    def close(self) -> None:
        sh("ip", "link", "del", HOST_IF)
        sh("ip", "netns", "del", NS)


class Broker:
    """Mosquitto with persistence, on loopback and on the veth address."""

    def __init__(self, tmp: Path, port: int, host: str) -> None:
        store = tmp / "mosquitto"
        store.mkdir()
        store.chmod(0o777)
        self.conf = tmp / "mosquitto.conf"
        listeners = f"listener {port} 127.0.0.1\n" + (
            f"listener {port} {host}\n" if host != "127.0.0.1" else ""
        )
        self.conf.write_text(
            listeners + f"allow_anonymous true\npersistence true\npersistence_location {store}/\n"
            "max_queued_messages 0\n"
        )
        self.port, self.proc = port, None  # type: ignore[var-annotated]

    def start(self) -> None:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], **quiet)
        time.sleep(0.4)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # SIGTERM: saves what it holds for the persistent subscriber
            self.proc.wait(timeout=10)
            self.proc = None


class Cloud:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port, self.proc = host, port, None  # type: ignore[var-annotated]

    def start(self) -> None:
        model = TESTDATA / "models/fastestdet/FastestDet.onnx"
        self.proc = subprocess.Popen(
            [*CLI, "cloud", "serve", str(model), "--host", self.host, "--port", str(self.port),
             "--threads", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)


def agent_config(tmp: Path, net: Net, mqtt_port: int, cloud_port: int) -> Path:
    cfg = {
        "site": "chaos",
        "device": "this-host",
        "cameras": [
            {
                "id": "cam",
                "source": str(TESTDATA / "videos/one-by-one-person-detection.mp4"),
                "loop": True,
                "fps_cap": 6,
                "model": str(TESTDATA / "models/fastestdet/FastestDet.onnx"),
                "threads": 1,
                "motion": {"enabled": False},
                "escalation": {
                    "url": f"http://{net.host}:{cloud_port}",
                    "band": [0.3, 0.7],
                    "timeout_s": 1.0,
                    "max_per_minute": 120,
                },
            }
        ],
        "mqtt": {"host": net.host, "port": mqtt_port, "topic": "chaos", "client_id": "chaos"},
        "outbox": {
            "path": str(tmp / "outbox.sqlite"),
            "max_events": 1_000_000,
            "retry_initial_s": 0.2,
            "retry_max_s": 2.0,
        },
        "api": {"port": 0},
        "heartbeat_s": 1.0,
    }
    path = tmp / "agent.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def add_ground_truth(outbox: Path) -> None:
    """The outbox's table (made as the agent makes it) and a trigger logging every commit."""
    Outbox(outbox, 10, "drop-oldest").close()
    db = sqlite3.connect(outbox)
    db.execute("CREATE TABLE IF NOT EXISTS produced (event_id TEXT, ts REAL)")
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS log_produced AFTER INSERT ON outbox "
        "BEGIN INSERT INTO produced VALUES (NEW.event_id, NEW.created); END"
    )
    db.commit()
    db.close()


def outbox_depth(outbox: Path) -> int:
    db = sqlite3.connect(outbox, timeout=10)
    try:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        db.close()


def received(path: Path) -> list[tuple[float, dict]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        ts, _, payload = line.partition(" ")
        try:
            out.append((float(ts), json.loads(payload)))
        except ValueError:
            continue
    return out


def run(kills: int, seed: int) -> dict:
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="edgeplan-chaos-"))
    net = Net()
    from tests.services import free_port

    mqtt_port, cloud_port = free_port(), free_port()
    broker = Broker(tmp, mqtt_port, net.host)
    broker.start()
    sub_out = tmp / "received.txt"
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(mqtt_port), "-t", "chaos/#", "-q", "1",
         "-c", "-i", "chaos-subscriber", "-F", "%U %p"],
        stdout=sub_out.open("w"), stderr=subprocess.DEVNULL,
    )  # fmt: skip
    cloud = Cloud(net.host, cloud_port)
    cloud.start()
    config = agent_config(tmp, net, mqtt_port, cloud_port)
    outbox = tmp / "outbox.sqlite"
    add_ground_truth(outbox)
    counts = {"broker_outages": 0, "cloud_outages": 0, "partitions": 0, "impairments": 0}
    agent = None
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        for k in range(kills):
            agent = subprocess.Popen(net.wrap([*CLI, "agent", "run", str(config)]), **quiet)
            time.sleep(rng.uniform(1.5, 3.5))
            roll = rng.random()
            if roll < 0.15:
                broker.stop()
                counts["broker_outages"] += 1
                time.sleep(rng.uniform(0.5, 2.5))
                broker.start()
            elif roll < 0.25:
                cloud.signal(signal.SIGSTOP)  # a cloud tier that hangs
                counts["cloud_outages"] += 1
                time.sleep(rng.uniform(0.5, 2.5))
                cloud.signal(signal.SIGCONT)
            elif roll < 0.30:
                cloud.kill()  # a cloud tier that dies
                counts["cloud_outages"] += 1
                cloud.start()
            elif roll < 0.40 and net.available:
                net.partition(True)
                counts["partitions"] += 1
                time.sleep(rng.uniform(0.5, 3.0))
                net.partition(False)
            elif roll < 0.50 and net.available:
                net.impair(True)
                counts["impairments"] += 1
                time.sleep(rng.uniform(1.0, 3.0))
                net.impair(False)
            os.kill(agent.pid, signal.SIGKILL)
            agent.wait(timeout=30)
            print(f"kill {k + 1}/{kills}", file=sys.stderr, flush=True)
        # drain: everything back, one agent until the outbox is empty
        agent = subprocess.Popen(net.wrap([*CLI, "agent", "run", str(config)]), **quiet)
        time.sleep(3)
        end = time.time() + 180
        while time.time() < end and outbox_depth(outbox) > 0:
            time.sleep(0.5)
        agent.terminate()
        agent.wait(timeout=30)
        time.sleep(2)  # the last PUBACKed messages reach the subscriber
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
        cloud.kill()
        sub.terminate()
        broker.stop()
        net.close()
    db = sqlite3.connect(outbox)
    produced = {e: ts for e, ts in db.execute("SELECT event_id, ts FROM produced")}
    left = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    db.close()
    got = received(sub_out)
    first: dict[str, float] = {}
    by_content: dict[tuple, set[str]] = {}
    for recv_ts, ev in got:
        eid = ev.get("event_id", "")
        first.setdefault(eid, recv_ts)
        key = (ev.get("camera"), ev.get("kind"), ev.get("ts_unix"), ev.get("frame_index"))
        by_content.setdefault(key, set()).add(eid)
    delivered = set(first) & set(produced)
    delays = [first[e] - produced[e] for e in delivered]
    return {
        "kills": kills,
        "produced": len(produced),
        "delivered": len(delivered),
        "lost": len(set(produced) - set(first)),
        "duplicates": sum(1 for _, ev in got if ev.get("event_id") in produced) - len(delivered),
        "duplicates_with_a_new_id": sum(len(ids) - 1 for ids in by_content.values()),
        "left_in_outbox": left,
        "max_delivery_delay_s": round(max(delays, default=0.0), 2),
        **counts,
        "network": "veth + namespace" if net.available else "none",
        "network_note": net.why,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    row = run(args.kills, args.seed)
    print_columns("chaos (this host)", [{"run": "figures", **row}], "run")
    if row["network_note"]:
        print(row["network_note"])
    write_json(args.json, row)
    if row["lost"] or row["duplicates"] > row["kills"] or row["duplicates_with_a_new_id"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
