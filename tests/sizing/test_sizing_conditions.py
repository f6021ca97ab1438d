"""Sizing holds accuracy where it matters: every variant is validated under the declared
deployment conditions as well as on clean images, and one that loses more there than the floor
allows is rejected with the condition named."""

from pathlib import Path

import pytest

from edgeplan.data.conditions import condition_misses
from edgeplan.progress import no_progress
from edgeplan.sizing.passes import Int8Static
from edgeplan.sizing.search import Sizer, SizingConfig


def test_the_allowance_is_the_parents_clean_margin() -> None:
    # parent 0.30 clean, floor 0.27: a variant may lose 0.03 against the parent, per condition
    assert condition_misses(0.27, 0.30, {"noise": 0.20}, {"noise": 0.18}) == []
    [miss] = condition_misses(
        0.27, 0.30, {"noise": 0.20, "jpeg": 0.28}, {"noise": 0.15, "jpeg": 0.27}
    )
    assert miss.startswith("under noise: 0.150, 0.050 below") and "allows 0.030" in miss
    # a parent below the floor leaves no allowance at all
    assert condition_misses(0.5, 0.4, {"jpeg": 0.3}, {"jpeg": 0.29})


@pytest.fixture(scope="module")
def sizer(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Sizer:
    cfg = SizingConfig(
        model=testdata / "models/fastestdet/FastestDet.onnx",
        data=testdata / "datasets/coco128/val2017_yolo",
        latency_ms_p99=1.0,
        accuracy_floor=0.0,
        backends=("onnxruntime",),
        threads=1,
        eval_images=24,
        calibration_images=24,
        duration_s=0.5,
        cache=tmp_path_factory.mktemp("variants"),
        conditions=("low-light", "occlusion"),
    )
    s = Sizer(cfg, no_progress)
    s.parents["onnxruntime"] = s.run([], "onnxruntime")
    return s


def test_every_variant_is_validated_under_each_condition(sizer: Sizer) -> None:
    parent = sizer.parents["onnxruntime"]
    assert set(parent.under) == {"low-light", "occlusion"}
    assert parent.under["occlusion"] < parent.accuracy  # the condition really changes the images
    t = sizer.run([Int8Static(method="MinMax", activation="uint8")], "onnxruntime")
    assert set(t.under) == {"low-light", "occlusion"} and t.accepted  # floor 0: all allowed


def test_the_verdict_under_conditions_is_the_rule_on_real_figures(sizer: Sizer) -> None:
    """Floor at the variant's own clean accuracy: clean passes, so only the conditions decide."""
    parent = sizer.parents["onnxruntime"]
    chain = [Int8Static(method="MinMax", activation="int8")]
    first = sizer.run(chain, "onnxruntime")
    sizer.cfg.accuracy_floor = min(first.accuracy, parent.accuracy)
    try:
        sizer.trials = {k: v for k, v in sizer.trials.items() if v is parent}
        t = sizer.run(chain, "onnxruntime")
    finally:
        sizer.cfg.accuracy_floor = 0.0
    misses = condition_misses(
        min(first.accuracy, parent.accuracy), parent.accuracy, parent.under, t.under
    )
    assert t.accepted == (not misses)
    if misses:
        assert t.reason == "; ".join(misses) and t.reason.startswith("under ")
