"""The depthwise factor: a device's rows fit how much a depthwise-tagged model's MAC costs
against a dense one's, only where models of both kinds and comparable size tell it apart."""

from itertools import pairwise

import numpy as np
import pytest

from edgeplan.catalogue import load_catalogue
from edgeplan.catalogue.load import Published
from edgeplan.projection.calibrate import Sample, depthwise_identified, fit
from edgeplan.projection.device import DeviceParams, latency_ms
from edgeplan.projection.profile import CostProfile

CAT = load_catalogue()
HW = CAT.hardware["qualcomm-qcs8550"]
METRIC = "latency_ms_model_only"
TRUTH = DeviceParams(
    b_ms_per_gmac={"int8": 0.3}, c_ms_per_mb=0.002, overhead_ms={f"{METRIC}@b1": 0.1}, rows=0,
    depthwise_factor=1.8,
)  # fmt: skip


def _rows(gmacs_dw: list[float], gmacs_dense: list[float]) -> list[Sample]:
    """Rows generated from TRUTH: depthwise-tagged models at `gmacs_dw`, dense at the rest."""
    out = []
    for i, g in enumerate([*gmacs_dw, *gmacs_dense]):
        kern = frozenset({"depthwise"}) if i < len(gmacs_dw) else frozenset()
        p = CostProfile(f"m{i}", g, g * 4, 224 * 224, kernels=kern)
        y = latency_ms(HW, p, "int8", TRUTH, f"{METRIC}@b1")
        row = Published(HW.id, "", f"m{i}", "qnn", "int8", "1", METRIC, y, "")
        out.append(Sample(row, p, y))
    return out


def test_a_known_depthwise_factor_is_fitted_back() -> None:
    """Both kinds span the same sizes: the factor is identified and recovered."""
    sizes = list(np.geomspace(0.2, 20, 6))
    samples = _rows(sizes, [s * 1.3 for s in sizes])
    assert depthwise_identified(samples)
    fitted = fit(HW, samples)
    assert fitted.depthwise_factor == pytest.approx(TRUTH.depthwise_factor, rel=0.15)
    for s in samples:
        pred = latency_ms(HW, s.profile, "int8", fitted, f"{METRIC}@b1")
        assert pred == pytest.approx(s.y_ms, rel=0.1)


def test_small_depthwise_and_large_dense_models_hold_the_factor_at_one() -> None:
    """Depthwise models all small and dense ones all large: a factor would absorb the size
    effect, so it is held at 1 (as it is where only one kind has rows)."""
    samples = _rows([0.2, 0.3, 0.5, 0.8], [5.0, 8.0, 12.0, 20.0])
    assert not depthwise_identified(samples)
    assert fit(HW, samples).depthwise_factor == pytest.approx(1.0, abs=0.02)
    only_dw = _rows([0.2, 1.0, 5.0], [])
    assert not depthwise_identified(only_dw)
    assert fit(HW, only_dw).depthwise_factor == pytest.approx(1.0, abs=0.02)


def test_more_macs_never_faster_with_the_factor() -> None:
    """Within a kind, more MACs never project faster, whatever the factor."""
    for factor in (0.5, 1.0, 2.5):
        p = DeviceParams(**{**TRUTH.__dict__, "depthwise_factor": factor})
        for kern in (frozenset(), frozenset({"depthwise"})):
            profiles = [CostProfile("m", g, 5.0, 224 * 224, kernels=kern)
                        for g in np.geomspace(0.05, 50, 12)]  # fmt: skip
            times = [latency_ms(HW, q, "int8", p, f"{METRIC}@b1") for q in profiles]
            assert all(a <= b for a, b in pairwise(times))
