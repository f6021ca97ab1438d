"""Farm commands fail fast and clearly without a cluster: nothing listens at the head, a
malformed address, --cluster without --device. No Ray processes are started here."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed (make test installs edgeplan[farm])")
CLI = [sys.executable, "-c", "from edgeplan.cli.main import app; app()"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens there


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)


def test_an_unreachable_head_is_named_at_once(fastestdet: Path) -> None:
    addr = f"127.0.0.1:{_closed_port()}"
    r = _run("characterise", str(fastestdet), "--cluster", addr, "--device", "rpi5")
    assert r.returncode == 9, r.stdout + r.stderr
    text = " ".join((r.stdout + r.stderr).split())
    assert f"cannot reach the Ray head at {addr}" in text
    r = _run("farm", "status", "--cluster", "headnode")
    assert r.returncode == 9 and "HOST:PORT" in r.stdout + r.stderr


def test_an_unknown_device_is_refused_before_joining(fastestdet: Path) -> None:
    r = _run("characterise", str(fastestdet), "--cluster", "127.0.0.1:1", "--device", "rpi9")
    assert r.returncode != 0 and "rpi5" in r.stdout + r.stderr  # the known ids are listed


def test_cluster_and_device_go_together(fastestdet: Path, testdata: Path) -> None:
    data = str(testdata / "datasets/coco128/val2017_yolo")
    r = _run("optimise", str(fastestdet), "--data", data, "--latency-ms-p99", "5",
             "--accuracy-floor", "0", "--cluster", "127.0.0.1:1")  # fmt: skip
    assert r.returncode == 2 and "--cluster and --device go together" in r.stdout + r.stderr
    r = _run("evaluate", str(fastestdet), "--data", data, "--device", "rpi5")
    assert r.returncode == 2 and "go together" in r.stdout + r.stderr
