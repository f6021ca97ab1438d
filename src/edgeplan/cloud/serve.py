"""Start MLServer with the edgeplan runtime for one model (settings written to a work dir).
MLServer 1.7 needs `parallel_workers: 0` with current uvloop."""

import json
import subprocess
import sys
from pathlib import Path

MODEL_NAME = "edgeplan"


def write_settings(
    work: Path,
    model: Path,
    backend: str | None,
    port: int,
    threads: int | None,
    host: str = "127.0.0.1",
) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    (work / "settings.json").write_text(
        json.dumps(
            {
                "http_port": port,
                "grpc_port": 0,
                "metrics_port": 0,
                "parallel_workers": 0,
                "host": host,
                "debug": False,
                "metrics_endpoint": None,
            }
        )
    )
    mdir = work / MODEL_NAME
    mdir.mkdir(exist_ok=True)
    (mdir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": MODEL_NAME,
                "implementation": "edgeplan.cloud.runtime.EdgeplanRuntime",
                "parameters": {
                    "uri": str(model.resolve()),
                    "extra": {"backend": backend, "threads": threads},
                },
            }
        )
    )
    return work


def start(work: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mlserver.cli.main", "start", str(work)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
