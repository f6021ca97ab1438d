"""Accuracy under deployment conditions: the same stated severities every run, reported per
condition with its interval, and a clear error for a condition that does not exist."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeplan.data import conditions
from edgeplan.errors import ConfigError

pytest.importorskip("albumentations", reason="albumentations (edgeplan[conditions])")
CLI = [sys.executable, "-c", "from edgeplan.cli.main import app; app()"]


def test_conditions_are_deterministic_and_change_the_image() -> None:
    frame = (np.arange(240 * 320 * 3) % 251).astype(np.uint8).reshape(240, 320, 3)
    for name in conditions.CONDITIONS:
        a = conditions.transform(name)(frame.copy())
        b = conditions.transform(name)(frame.copy())
        assert a.shape == frame.shape and a.dtype == np.uint8
        assert np.array_equal(a, b), name  # same seed, same image
        assert not np.array_equal(a, frame), name
    dark = conditions.transform("low-light")(frame.copy())
    assert dark.mean() < frame.mean() * 0.7


def test_an_unknown_condition_names_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match="allowed: low-light, motion-blur"):
        conditions.parse("low-light,fog")


def test_evaluate_under_conditions(testdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    r = subprocess.run(
        [*CLI, "evaluate", str(testdata / "models/fastestdet/FastestDet.onnx"), "--data",
         str(testdata / "datasets/coco128/val2017_yolo"), "--limit", "16", "--bootstrap", "20",
         "--conditions", "low-light,jpeg", "--json", str(out), "--store",
         str(tmp_path / "s.sqlite")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    recs = json.loads(out.read_text())
    assert [x["condition"] for x in recs] == [None, "low-light", "jpeg"]
    clean, dark = recs[0]["metrics"][0], recs[1]["metrics"][0]
    assert clean["metric"] == dark["metric"] == "map50_95" and clean["value"] != dark["value"]
    assert dark["ci95_low"] <= dark["value"] <= dark["ci95_high"]
    assert "under deployment conditions" in r.stdout and "JPEG quality 15" in r.stdout
