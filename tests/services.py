"""Real services the tests start on loopback: a Mosquitto broker on a free port, an MQTT
collector (paho, QoS 1), and the fixture that skips with a reason when Mosquitto is absent."""

import json
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range, so that no client's outgoing
    connection (a retry against a stopped server) can hold it when the server restarts."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low // 2), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # every try taken: let the kernel choose
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start Mosquitto on the fixed port; a restart can find the port briefly held (a client
        retrying against the stopped broker can self-connect on loopback), so an exit at bind
        is retried a few times, and a final failure shows Mosquitto's own words."""
        log = self.conf.with_suffix(".log")
        for _ in range(5):
            with log.open("ab") as err:
                self.proc = subprocess.Popen(
                    [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=err
                )
            for _ in range(100):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", self.port)) == 0:
                        return
                if self.proc.poll() is not None:  # it exited: could not bind the port
                    break
                time.sleep(0.1)
            self.stop()
            time.sleep(1)
        tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
        raise RuntimeError(f"mosquitto did not start on port {self.port}: {tail}")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


class Collector:
    """Subscribes to every event topic with QoS 1 and keeps what arrives."""

    def __init__(self, port: int, topic: str = "edgeplan/#") -> None:
        self.events: list[dict] = []
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"collector-{port}")
        self.c.on_message = lambda _c, _u, m: self.events.append(json.loads(m.payload))
        self.c.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def wait_for(self, pred, timeout_s: float = 20.0) -> bool:
        end = time.time() + timeout_s
        while time.time() < end:
            if pred(self.events):
                return True
            time.sleep(0.1)
        return False

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if MOSQUITTO is None:
        pytest.skip("mosquitto not installed (apt-get install mosquitto; .ci/run does it)")
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()
