"""The depthwise factor: a device's rows fit how much a depthwise convolution's MAC costs
against a dense one's, only where models of both kinds and comparable size tell it apart."""

from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from edgeplan.catalogue import load_catalogue
from edgeplan.catalogue.load import Published
from edgeplan.models.analysis import analyse
from edgeplan.models.files import open_model
from edgeplan.projection.calibrate import Sample, depthwise_identified, fit
from edgeplan.projection.device import DeviceParams, depthwise_share, latency_ms
from edgeplan.projection.kernels import kernel_mix
from edgeplan.projection.profile import CostProfile, from_analysis, from_facts

CAT = load_catalogue()
HW = CAT.hardware["qualcomm-qcs8550"]
METRIC = "latency_ms_model_only"
TRUTH = DeviceParams(
    b_ms_per_gmac={"int8": 0.3}, c_ms_per_mb=0.002, overhead_ms={f"{METRIC}@b1": 0.1}, rows=0,
    depthwise_factor=8.0,
)  # fmt: skip
DW_SHARES = (0.03, 0.06, 0.1, 0.15)  # of a depthwise model's MACs (MobileNets: 3-15%)


def _rows(gmacs_dw: list[float], gmacs_dense: list[float]) -> list[Sample]:
    """Rows generated from TRUTH: depthwise-tagged models at `gmacs_dw`, dense at the rest."""
    out = []
    for i, g in enumerate([*gmacs_dw, *gmacs_dense]):
        dw = i < len(gmacs_dw)
        kern = frozenset({"depthwise"}) if dw else frozenset()
        share = DW_SHARES[i % len(DW_SHARES)] if dw else 0.0
        p = CostProfile(f"m{i}", g, g * 4, 224 * 224, kernels=kern, depthwise_gmacs=g * share)
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
    for factor in (0.5, 1.0, 8.0):
        p = DeviceParams(**{**TRUTH.__dict__, "depthwise_factor": factor})
        for kern in (frozenset(), frozenset({"depthwise"})):
            profiles = [CostProfile("m", g, 5.0, 224 * 224, kernels=kern,
                                    depthwise_gmacs=0.1 * g * bool(kern))
                        for g in np.geomspace(0.05, 50, 12)]  # fmt: skip
            times = [latency_ms(HW, q, "int8", p, f"{METRIC}@b1") for q in profiles]
            assert all(a <= b for a, b in pairwise(times))


def test_a_graphs_depthwise_macs_reach_its_profile(fastestdet: Path) -> None:
    """Static analysis: the profile's depthwise MACs are the depthwise kernels' in the graph."""
    a = analyse(open_model(fastestdet))
    p = from_analysis("FastestDet", a)
    assert p.depthwise_gmacs == pytest.approx(kernel_mix(a.ops)["depthwise"]["macs"] / 1e9)
    assert 0 < p.depthwise_share() < 0.5


def test_catalogue_depthwise_macs_are_counted_or_estimated() -> None:
    """Every counted depthwise-tagged model has depthwise MACs, typically a minority of its
    MACs; one without a count gets its task's median share, within the counted models' range."""
    counted = [m for m in CAT.models.values() if m.depthwise_gmacs is not None and m.gmacs]
    tagged = [m for m in counted if "depthwise" in m.kernels]
    assert len(tagged) >= 50
    shares = [(m.depthwise_gmacs or 0.0) / (m.gmacs or 1.0) for m in tagged]
    assert all(0 < s < 1 for s in shares) and float(np.median(shares)) < 0.2
    assert all(not m.depthwise_gmacs for m in counted if not m.kernels)  # dense: none
    estimated = [m for m in CAT.models.values() if m.depthwise_share_estimate is not None]
    assert estimated and all("depthwise" in m.kernels for m in estimated)
    for m in estimated:
        assert min(shares) <= (m.depthwise_share_estimate or 0.0) <= max(shares)
        prof = from_facts(m, m.gmacs or 1.0)  # published MACs, else (as here) estimated ones
        assert prof is not None and prof.depthwise_gmacs > 0


def test_a_pipelined_npu_charges_the_factor_on_a_depthwise_models_convolutions() -> None:
    """On Hailo (context switching) the factor follows the tag, on the other chips the MACs."""
    p = CostProfile("m", 2.0, 5.0, 224 * 224, kernels=frozenset({"depthwise"}),
                    depthwise_gmacs=0.1, gemm_gmacs=0.5)  # fmt: skip
    assert depthwise_share(p, pipelined=False) == pytest.approx(0.05)
    assert depthwise_share(p, pipelined=True) == pytest.approx(0.75)
    assert depthwise_share(replace(p, kernels=frozenset()), pipelined=True) == 0.0
