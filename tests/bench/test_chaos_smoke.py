"""The chaos benchmark itself, briefly: three kill -9s with the outages it injects, and nothing
lost (the full 200-kill run is benchmarks/chaos.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import MOSQUITTO

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto not installed (.ci/run installs it)")
def test_chaos_three_kills_lose_nothing(testdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/chaos.py"), "--kills", "3", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "EDGEPLAN_TESTDATA": str(testdata)},
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    fig = json.loads(out.read_text())
    assert set(fig) >= {"kills", "produced", "delivered", "lost", "duplicates",
                        "max_delivery_delay_s", "broker_outages", "cloud_outages"}  # fmt: skip
    assert fig["kills"] == 3 and fig["produced"] > 0 and fig["lost"] == 0
    assert fig["duplicates"] <= fig["kills"] and fig["duplicates_with_a_new_id"] == 0
