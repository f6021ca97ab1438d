"""Anchored projections: a catalogue model's published figures on sibling chips carry the
per-model misses a device model shares across a family (anchor.py)."""

import numpy as np
import pytest

from edgeplan.catalogue import load_catalogue
from edgeplan.catalogue.load import Published
from edgeplan.projection.anchor import anchored_ratio, own_rows, sibling_rows
from edgeplan.projection.cache import cached_calibrate
from edgeplan.projection.device import DeviceParams, latency_ms
from edgeplan.projection.profile import CostProfile, from_facts
from edgeplan.projection.project import project
from edgeplan.projection.samples import Sample

CAT = load_catalogue()
CAL = cached_calibrate(CAT, validate=True)
QUALCOMM = [
    "qualcomm-qcs8275",
    "qualcomm-qcs8450",
    "qualcomm-qcs8550",
    "qualcomm-qcs9075",
    "qualcomm-snapdragon-8-gen3",
]


def test_the_ratio_is_how_much_the_siblings_device_models_miss_the_model() -> None:
    """Published 2x and 3x what two siblings' device models project: the anchor is their
    geometric mean, 6 ** 0.5."""
    hw = CAT.hardware["qualcomm-qcs8550"]
    prof = CostProfile("net", 2.0, 5.0, 224 * 224)
    params = DeviceParams(b_ms_per_gmac={"int8": 0.5}, c_ms_per_mb=0.0, overhead_ms={}, rows=0)
    pred = latency_ms(hw, prof, "int8", params, "latency_ms_model_only@b1")
    rows = []
    for i, (dev, times) in enumerate((("qualcomm-qcs8550", 2.0), ("qualcomm-qcs9075", 3.0))):
        row = Published(
            dev, "", "net", "qnn", "int8", "1", "latency_ms_model_only", pred * times, ""
        )
        rows.append(((dev, "latency"), Sample(row, prof, pred * times)))
        assert i < 2
    both = {k: params for k, _ in rows}
    assert anchored_ratio(rows, both, CAT) == pytest.approx(6**0.5)
    assert anchored_ratio([], both, CAT) == 1.0


def test_anchoring_carries_a_models_quirk_across_the_family() -> None:
    """EfficientNet-V2-S at fp16 is projected about 2x too slow on every Qualcomm chip by the
    device model (left out of the device), and ViT-B misses by more than 50% at one precision
    on most of them; anchored on the other chips' figures, every such error halves at least.
    Over every anchored figure the MdAPE beats the device model's on the same figures, and the
    anchored band covers 70-90% of them."""
    quirks = 0
    for dev in QUALCOMM:
        for model in ("vit_base_224", "efficientnet_v2_s_384"):
            rows = [h for h in CAL.anchored if h.segment == dev and h.model == model]
            assert rows, (dev, model)
            worst = max(rows, key=lambda h: h.plain_ape or 0.0)
            assert worst.plain_ape is not None
            if worst.plain_ape > 50:
                quirks += 1
                assert worst.ape < worst.plain_ape / 2, (dev, model, worst)
            else:
                assert model == "vit_base_224", (dev, model, worst)
    assert quirks > len(QUALCOMM)
    anchored = np.median([h.ape for h in CAL.anchored])
    plain = np.median([h.plain_ape for h in CAL.anchored])
    assert anchored < 0.85 * plain
    cov, _, n = CAL.anchored_coverage()
    assert n > 100 and 70 <= cov <= 90


def test_no_anchor_across_a_context_split() -> None:
    """A network can split into contexts on the Hailo-8L and not on the Hailo-8: their
    figures never anchor each other."""
    assert not [h for h in CAL.anchored if h.segment.startswith("hailo")]
    key = ("hailo-8", "throughput")
    assert not sibling_rows(
        CAL.samples, CAL.params, CAT, key, "resnet50_v1_224", "int8", "throughput_fps@b1"
    )


def test_project_anchors_a_catalogue_model_on_its_own_figure_first() -> None:
    """DenseNet-121 int8 on the QCS8550 is published: `project` returns that figure (same
    harness) and says so; on the QCS6490, where it is not published... its siblings' are, and
    the projection moves from the device model's by their ratio."""
    prof = from_facts(CAT.models["densenet121_224"])
    assert prof is not None
    key = ("qualcomm-qcs8550", "latency")
    own = own_rows(CAL.samples, key, "densenet121_224", "int8", "latency_ms_model_only")
    assert len(own) == 1
    pr = project(prof, "qualcomm-qcs8550", "int8", CAL, CAT)
    assert pr.latency_ms == pytest.approx(own[0][1].y_ms, rel=1e-6)
    assert "anchored on 1 published figure of it on qualcomm-qcs8550" in pr.calibration
    assert "held-out anchored errors" in pr.calibration
    file_like = CostProfile("densenet121.onnx", prof.gmacs, prof.params_m, prof.input_pixels)
    assert "anchored" not in project(file_like, "qualcomm-qcs8550", "int8", CAL, CAT).calibration
