"""A workload declares the conditions its cameras see: plan evaluates each model, and the int8
variant it would deploy on int8-only devices, under each (cached records); a variant that loses
more there than the floor allows on clean images is not deployed, and the plan says why."""

from pathlib import Path

import pytest

from edgeplan.errors import ConfigError
from edgeplan.pipeline.run import run_plan
from edgeplan.records.accuracy import AccuracyRecord
from edgeplan.records.store import RecordStore

FLEET = """
name: night-yard
sites: [{id: yard, uplink_mbps: 20}]
cameras:
  - id: gate
    site: yard
    fps: 5
    workloads:
      - task: detection
        models: [MODEL]
        validation_data: DATA
        accuracy_floor: FLOOR
        latency_budget_ms: 1000
        CONDITIONS
hardware: [{id: hailo-8}]
"""


def _fleet(tmp: Path, testdata: Path, floor: float, conditions: str) -> Path:
    text = (
        FLEET.replace("MODEL", str(testdata / "models/fastestdet/FastestDet.onnx"))
        .replace("DATA", str(testdata / "datasets/coco128/val2017_yolo"))
        .replace("FLOOR", f"{floor:g}")
        .replace("CONDITIONS", conditions)
    )
    path = tmp / "fleet.yaml"
    path.write_text(text)
    return path


def test_an_unknown_condition_names_the_path_and_the_allowed_values(
    tmp_path: Path, testdata: Path
) -> None:
    with pytest.raises(ConfigError) as e:
        run_plan(_fleet(tmp_path, testdata, 0, "conditions: [fog]"), tmp_path / "o", quick=True)
    text = str(e.value)
    assert "conditions" in text and "fog" in text and "low-light" in text


def test_declared_conditions_are_measured_and_hold_the_int8_variant(
    tmp_path: Path, testdata: Path
) -> None:
    store = tmp_path / "s.sqlite"
    fleet = _fleet(tmp_path, testdata, 0, "conditions: [jpeg, noise]")
    res = run_plan(fleet, tmp_path / "a", store, quick=True)
    with RecordStore(store) as st:
        recs = [r for r in st.of_kind("accuracy") if isinstance(r, AccuracyRecord)]
    by = {(Path(r.model_path).name, r.condition): r.value for r in recs}
    fp32 = {c: v for (n, c), v in by.items() if n == "FastestDet.onnx"}
    int8 = {c: v for (n, c), v in by.items() if n != "FastestDet.onnx"}
    assert set(fp32) == set(int8) == {None, "jpeg", "noise"}  # clean and each condition, both
    assert any("FastestDet.onnx under jpeg" in n for n in res["run"]["notes"])
    # the report says how the deployed int8 variant was made: pass, parent, calibration data
    html = res["paths"]["html"].read_text()
    assert "how it was made" in html and "int8-static(method=Percentile" in html
    assert "calibration " in html
    # the floor at the fp32 model's clean accuracy: no loss allowed under any condition
    strict = _fleet(tmp_path, testdata, fp32[None], "conditions: [jpeg, noise]")
    plan = run_plan(strict, tmp_path / "b", store, quick=True)["plan"]
    lost = {c: fp32[c] - int8[c] for c in ("jpeg", "noise")}
    rejected = [n for n in plan.run["notes"] if "variant rejected: under" in n]
    assert bool(rejected) == any(v > 1e-9 for v in lost.values()), (lost, rejected)
    d = plan.decisions[0]
    assert d.chosen is None  # the int8-only Hailo: below the floor on clean, or rejected
