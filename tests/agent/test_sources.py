"""A source that is missing, refuses or never answers is named in the agent's log with the
reason, shown in /status, turns /readyz to 503, and never holds the agent past its stop."""

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import yaml

CLI = [sys.executable, "-c", "from edgeplan.cli.main import app; app()"]


def _config(tmp: Path, source: str, testdata: Path) -> Path:
    cfg = {
        "site": "s",
        "cameras": [
            {
                "id": "cam",
                "source": source,
                "fps_cap": 5,
                "model": str(testdata / "models/fastestdet/FastestDet.onnx"),
                "threads": 1,
                "stall_s": 2,
            }
        ],
        "outbox": {"path": str(tmp / "outbox.sqlite")},
        "api": {"port": 0},
        "heartbeat_s": 60,
    }
    path = tmp / "agent.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run(config: Path, seconds: float) -> tuple[subprocess.CompletedProcess, float, dict]:
    t0 = time.monotonic()
    proc = subprocess.Popen([*CLI, "agent", "run", str(config), "--duration-s", str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    url = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if "API on http://" in line:
            url = line.split("API on ")[1].split()[0]
            break
    assert url
    time.sleep(min(seconds - 1, 4))
    status = httpx.get(f"{url}/status", timeout=5).json()
    ready = httpx.get(f"{url}/readyz", timeout=5).status_code
    out, err = proc.communicate(timeout=60)
    status["readyz"] = ready
    return (
        subprocess.CompletedProcess(proc.args, proc.returncode, out, err),
        time.monotonic() - t0,
        status,
    )


def test_a_missing_file_is_named_with_its_reason(testdata: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-clip.mp4"
    r, _, status = _run(_config(tmp_path, str(missing), testdata), 6)
    assert r.returncode == 0
    assert f"source {missing}: file not found" in r.stderr
    assert r.stderr.count("file not found") == 1  # once, not once per retry
    assert status["cameras"][0]["source_error"] == "file not found"
    assert status["readyz"] == 503


def test_a_silent_rtsp_server_times_out_and_the_stop_is_kept(
    testdata: Path, tmp_path: Path
) -> None:
    """A TCP server that accepts and never answers: the open gives up after 5 s, the log says
    so, and --duration-s 8 ends the agent within a few seconds of 8, not OpenCV's 30 s."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)  # never answers

    threading.Thread(target=accept, daemon=True).start()
    url = f"rtsp://127.0.0.1:{srv.getsockname()[1]}/stream"
    try:
        r, wall, status = _run(_config(tmp_path, url, testdata), 8)
    finally:
        srv.close()
        for c in held:
            c.close()
    assert r.returncode == 0
    assert f"source {url}: cannot open" in r.stderr and "no answer within 5 s" in r.stderr
    assert status["readyz"] == 503 and status["cameras"][0]["source_error"]
    assert wall < 8 + 12, f"took {wall:.1f} s to stop"


def test_a_refused_rtsp_port_is_named(testdata: Path, tmp_path: Path) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens: connection refused
    url = f"rtsp://127.0.0.1:{port}/stream"
    r, _, status = _run(_config(tmp_path, url, testdata), 5)
    assert r.returncode == 0 and f"source {url}: cannot open" in r.stderr
    assert status["readyz"] == 503
