"""Cold start in a fresh subprocess: import, session creation and first inference, timed apart,
with the process's RSS before and after load and its peak after a few warm runs."""

import json
import subprocess
import sys

from edgeplan import errors
from edgeplan.backends.base import BackendOptions
from edgeplan.errors import EdgeplanError
from edgeplan.records.types import ColdStart


def measure_cold_start(
    model_path: str,
    backend: str,
    options: BackendOptions,
    warm_runs: int = 5,
    timeout_s: float = 300,
) -> ColdStart:
    """Run the child and parse its JSON line; a child failure becomes an EdgeplanError."""
    payload = json.dumps(
        {
            "model": model_path,
            "backend": backend,
            "options": options.as_dict(),
            "warm_runs": warm_runs,
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "edgeplan.bench.coldstart_child", payload],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise EdgeplanError(f"cold-start subprocess failed: {proc.stderr.strip()[-2000:]}")
    data = json.loads(lines[-1])
    if "error" in data:
        cls = getattr(errors, data.get("error_type", ""), EdgeplanError)
        cls = cls if isinstance(cls, type) and issubclass(cls, EdgeplanError) else EdgeplanError
        raise cls(f"cold-start subprocess: {data['error']}")
    return ColdStart.model_validate(data)
