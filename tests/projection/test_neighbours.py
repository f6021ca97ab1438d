"""The device model's misses on a model's nearest published neighbours, carried over to it
(neighbours.py): only as far as neighbours foretold each other's misses on the device."""

import math

import numpy as np
import pytest

from edgeplan.catalogue import load_catalogue
from edgeplan.catalogue.load import Hardware, Published
from edgeplan.projection.cache import cached_calibrate
from edgeplan.projection.calibrate import _Pooled
from edgeplan.projection.device import DeviceParams, latency_ms
from edgeplan.projection.neighbours import correction, shrunk_slope
from edgeplan.projection.novelty import feature_scale, features
from edgeplan.projection.profile import CostProfile, from_facts
from edgeplan.projection.project import project
from edgeplan.projection.rows import metric_key, runtime, segment_hardware
from edgeplan.projection.samples import Sample, published_samples

CAT = load_catalogue()
QUALCOMM = [
    "qualcomm-qcs8275",
    "qualcomm-qcs8450",
    "qualcomm-qcs8550",
    "qualcomm-qcs9075",
    "qualcomm-snapdragon-8-gen3",
]
HYBRIDS = ["efficientvit_b2_224", "efficientvit_l2_224", "mobilevit_s_224", "levit_128s_224"]


def test_the_slope_is_carried_only_as_far_as_neighbours_foretell() -> None:
    """Misses neighbours foretell exactly are carried in full; misses unrelated to them, or
    opposed, not at all; a noisy relation less than its least-squares slope; too few models
    say nothing."""
    foretold = np.array([0.5, -0.3, 0.2, -0.6, 0.1, 0.4, -0.2, 0.3])
    assert shrunk_slope(foretold.copy(), foretold) == pytest.approx(1.0)
    orthogonal = np.array([0.5, 0.3, -0.2, -0.6, 0.1, 0.4, -0.2, -0.3])
    orthogonal -= foretold * float(orthogonal @ foretold) / float(foretold @ foretold)
    assert shrunk_slope(orthogonal, foretold) == pytest.approx(0.0, abs=1e-9)
    assert shrunk_slope(-foretold, foretold) == 0.0
    noisy = 0.8 * foretold + np.array([0.3, 0.2, -0.3, 0.1, -0.2, 0.3, 0.1, -0.25])
    ls = float(noisy @ foretold) / float(foretold @ foretold)
    assert 0.0 < shrunk_slope(noisy, foretold) < ls
    assert shrunk_slope(foretold[:2], foretold[:2]) == 0.0


def _sample(name: str, gmacs: float, hybrid: bool, published_ms: float) -> Sample:
    prof = CostProfile(
        name,
        gmacs,
        gmacs * 5,
        224 * 224,
        kernels=frozenset({"attention"}) if hybrid else frozenset(),
        layers=60,
        gemm_gmacs=gmacs * 0.5 if hybrid else 0.0,
        act_elements_m=gmacs * 8,
    )
    row = Published("dev", "", name, "qnn", "fp16", "1", "latency_ms_model_only", published_ms, "")
    return Sample(row, prof, published_ms)


def test_a_family_the_device_model_misses_moves_its_new_member_and_no_other() -> None:
    """A device model that prices every network at 1 ms per GMAC, on a chip where the
    attention hybrids run twice that: a new hybrid is projected about 2x slower than the
    device model says, a new convolutional network is left as it is. Where the misses are
    spread at random across both kinds, nothing is carried."""
    convs = [_sample(f"conv{i}", g, False, g) for i, g in enumerate((0.5, 1, 2, 4, 8, 16))]
    hybrids = [_sample(f"hyb{i}", g, True, 2 * g) for i, g in enumerate((0.5, 1, 2, 4, 8, 16))]
    samples = convs + hybrids
    scale = feature_scale([features(s.profile, "fp16") for s in samples])

    def predict(s: Sample) -> float:
        return s.profile.gmacs  # 1 ms per GMAC

    new_hybrid = _sample("new_hybrid", 3.0, True, 0.0).profile
    fix = correction(new_hybrid, "fp16", "latency_ms_model_only@b1", samples, predict, scale)
    assert fix is not None and fix.factor == pytest.approx(2.0, rel=0.05)
    assert set(fix.neighbours) <= {s.row.model_id for s in hybrids}
    new_conv = _sample("new_conv", 3.0, False, 0.0).profile
    fix = correction(new_conv, "fp16", "latency_ms_model_only@b1", samples, predict, scale)
    assert fix is not None and fix.factor == pytest.approx(1.0, abs=0.01)

    signs = [1, -1, -1, 1, 1, -1, -1, 1, -1, 1, 1, -1]
    mixed = [
        _sample(s.row.model_id, s.profile.gmacs, bool(s.profile.kernels), s.profile.gmacs * 2**k)
        for s, k in zip(samples, signs, strict=True)
    ]
    fix = correction(new_hybrid, "fp16", "latency_ms_model_only@b1", mixed, predict, scale)
    assert fix is not None and fix.beta < 0.3
    assert correction(new_hybrid, "fp16", "m", samples[:3], predict, scale) is None


def test_the_hybrids_the_qualcomm_device_models_miss_are_moved_toward_their_figures() -> None:
    """EfficientViT-B2 and -L2, MobileViT-S and LeViT-128S run 1.4-2.8x slower than the
    Qualcomm device models project, left out of the device: on every chip, each is projected
    slower and closer to its published figure once its neighbours' misses are carried over."""
    samples = published_samples(CAT)
    pooled = _Pooled(CAT, samples)
    scale = feature_scale(
        [features(s.profile, s.row.precision) for v in samples.values() for s in v]
    )
    for dev in QUALCOMM:
        key, hw = (dev, "latency"), segment_hardware(dev, CAT)
        for model in HYBRIDS:
            train = [s for s in samples[key] if s.row.model_id != model]
            p = pooled.fit(key, train, without=model)

            def predict(s: Sample, p: DeviceParams = p, hw: Hardware = hw) -> float:
                return latency_ms(
                    hw, s.profile, s.row.precision, p, metric_key(s.row), runtime(s.row)
                )

            for s in (s for s in samples[key] if s.row.model_id == model):
                fix = correction(
                    s.profile, s.row.precision, metric_key(s.row), train, predict, scale
                )
                assert fix is not None and fix.factor > 1.0, (dev, model)
                plain = math.log(predict(s) / s.y_ms)
                assert abs(plain + math.log(fix.factor)) < abs(plain), (dev, model)


def test_project_says_what_it_carried_and_an_anchored_model_carries_nothing() -> None:
    """A network unknown to the catalogue is projected with its neighbours' correction named
    in the source line and in `neighbours_factor`; a catalogue model published on sibling
    chips is anchored on those figures instead, which carry its own miss."""
    cal = cached_calibrate(CAT, validate=True)
    prof = from_facts(CAT.models["efficientvit_b2_224"])
    assert prof is not None
    unknown = CostProfile(
        "my_hybrid",
        prof.gmacs,
        prof.params_m,
        prof.input_pixels,
        kernels=prof.kernels,
        layers=prof.layers,
        depth=prof.depth,
        gemm_gmacs=prof.gemm_gmacs,
        attention_gmacs=prof.attention_gmacs,
        depthwise_gmacs=prof.depthwise_gmacs,
        act_elements_m=prof.act_elements_m,
    )
    got = project(unknown, "qualcomm-qcs6490", "fp16", cal, CAT)
    assert got.neighbours_factor is not None
    assert "nearest published models" in got.calibration
    anchored = project(prof, "qualcomm-qcs6490", "fp16", cal, CAT)
    assert anchored.neighbours_factor is None and "anchored on" in anchored.calibration
