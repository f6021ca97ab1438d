"""Real services the tests start on loopback: a Mosquitto broker on a free port, an MQTT
collector (paho, QoS 1), and the fixture that skips with a reason when Mosquitto is absent."""

import json
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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("mosquitto did not start")

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
