"""Normalised bands: a projection's band scales with how far its model lies from the models
published on the device, and still covers its level."""

import math

import numpy as np

from edgeplan.projection.bands import Calibration, Held, held_misses
from edgeplan.projection.novelty import (
    FEATURES,
    NEIGHBOURS,
    difficulty_slope,
    difficulty_slopes,
    distance,
    feature_scale,
    features,
    nearest,
    neighbour_miss,
    neighbours,
    published_points,
)
from edgeplan.projection.profile import CostProfile


def test_distance_is_to_the_nearest_models_in_units_of_their_spread() -> None:
    scale = np.ones(len(FEATURES))
    others = [np.zeros(len(FEATURES)) + i for i in range(6)]
    near, far = distance(others[0], others, scale), distance(others[0] - 10, others, scale)
    assert near < far
    # the mean over the NEIGHBOURS nearest: 0, 1 and 2 steps away in every feature
    root = math.sqrt(len(FEATURES))
    assert near == np.mean([i * root for i in range(NEIGHBOURS)])
    assert distance(others[0], [], scale) == 0.0
    # a feature twice as spread counts half as far
    wide = scale.copy()
    wide[0] = 2.0
    assert distance(others[0] - 10, others, wide) < far


def test_an_unknown_feature_is_left_out_not_counted_as_a_match() -> None:
    scale = np.ones(len(FEATURES))
    a, b = np.zeros(len(FEATURES)), np.ones(len(FEATURES))
    gap = b.copy()
    gap[2] = np.nan  # layers not known
    assert distance(gap, [a], scale) == distance(b, [a], scale)
    prof = CostProfile("m", 1.0, 5.0, 224 * 224)  # no layers, no activation figure
    assert np.isnan(features(prof, "int8")[[2, 3]]).all()
    assert (feature_scale([features(prof, "int8")] * 3) == 1.0).all()


def test_the_difficulty_slope_follows_errors_that_grow_with_novelty_and_only_those() -> None:
    rng = np.random.default_rng(3)
    nov = rng.uniform(0, 3, 400)
    growing = np.exp(nov) * np.abs(rng.normal(0, 0.1, 400))
    assert 0.7 < difficulty_slope(nov, growing) < 1.3
    assert difficulty_slope(nov, np.abs(rng.normal(0, 0.1, 400))) < 0.2
    assert difficulty_slope(nov, np.exp(-nov) * 0.1) == 0.0  # shrinking errors: one band
    assert difficulty_slope([1.0, 1.0, 1.0], [0.1, 0.2, 0.3]) == 0.0  # cannot say


def test_a_normalised_band_covers_its_level_and_is_narrower_for_a_familiar_model() -> None:
    """Errors that grow with novelty: each held-out error judged by a band built without its
    model covers about 80%, the plain band over- and under-covers at the two ends, and a
    familiar model's band is narrower than the plain one."""
    rng = np.random.default_rng(11)
    nov = rng.uniform(0, 3, 300)
    err = np.exp(0.8 * nov) * rng.normal(0, 0.1, 300)
    cal = Calibration(
        held=[
            Held("dev", f"m{i}", float(e), 0.0, "", float(v))
            for i, (e, v) in enumerate(zip(err, nov, strict=True))
        ]
    )
    cov, _, n = cal.coverage()
    assert n == 300 and 75 <= cov <= 85
    plain = cal.band("dev")[0]
    assert cal.band("dev", novelty=0.1)[0] < plain < cal.band("dev", novelty=2.9)[0]
    far_cover = np.mean(
        [abs(e) <= math.log1p(plain / 100) for e, v in zip(err, nov, strict=True) if v > 2.0]
    )
    assert far_cover < 0.75  # one band for all: the unfamiliar models escape it
    widest = math.expm1(max(abs(err))) * 100  # no band wider than the largest error made
    assert cal.band("dev", novelty=5.0)[0] <= widest + 1e-9
    text = cal.band("dev", novelty=5.0)[1]
    assert "distance to the published models" in text and "farther than any held-out model" in text


def test_on_the_hailo_8_a_model_unlike_its_zoo_gets_a_wider_band() -> None:
    """The Hailo-8's held-out errors grow with novelty: a 224-pixel dense classifier like its
    zoo's ResNets is projected with a narrower band than a 1280-pixel model with attention."""
    from edgeplan.projection.project import project
    from tests.projection.test_kernels_contexts import CAL, CAT

    usual = CostProfile("usual", 4.1, 25.6, 224 * 224, layers=54, act_elements_m=12.0)
    odd = CostProfile(
        "odd", 60.0, 3.0, 1280 * 1280, kernels=frozenset({"attention"}), layers=300,
        gemm_gmacs=30.0, act_elements_m=900.0,
    )  # fmt: skip
    a, b = (project(p, "hailo-8", "int8", CAL, CAT) for p in (usual, odd))
    assert a.band_pct < b.band_pct, (a.calibration, b.calibration)
    assert a.novelty is not None and b.novelty is not None and a.novelty < b.novelty
    assert "distance to the published models" in a.calibration
    # the device model's miss on its nearest published models travels with it (x/÷, >= 1)
    assert a.neighbour_miss_ratio is not None and a.neighbour_miss_ratio >= 1.0


def test_the_bands_hold_for_the_models_farthest_from_their_devices_others() -> None:
    """Conditional coverage: over the catalogue, the held-out figures of each device's
    farthest tenth of models by novelty fall inside their (jackknife) band at about the level,
    which one band per device does not give them."""
    from tests.projection.test_kernels_contexts import CAL

    cov, n = CAL.coverage_far()
    assert n >= 30 and 70 <= cov <= 95, (cov, n)


def test_the_difficulty_slopes_take_each_predictor_apart_and_never_go_below_zero() -> None:
    rng = np.random.default_rng(5)
    nov, miss = rng.uniform(0, 3, 600), rng.uniform(0, 1, 600)
    err = np.exp(0.5 * nov + 2.0 * miss) * np.abs(rng.normal(0, 0.1, 600))
    s_far, s_miss = difficulty_slopes([nov, miss], err)
    assert 0.3 < s_far < 0.7 and 1.6 < s_miss < 2.4
    # errors that shrink with the miss: its slope is 0, novelty's still found
    s_far, s_miss = difficulty_slopes([nov, miss], np.exp(0.5 * nov - 2.0 * miss) * 0.1)
    assert s_miss == 0.0 and s_far > 0.3
    assert difficulty_slopes([[1.0, 1.0], [2.0, 2.0]], [0.1, 0.3]) == [0.0, 0.0]


def test_the_neighbours_miss_is_the_held_out_error_on_the_nearest_published_models() -> None:
    from tests.projection.test_kernels_contexts import CAL

    scale = CAL.novelty_scale
    assert scale is not None
    published = CAL.samples[("hailo-8", "throughput")]
    resnet = next(s for s in published if s.row.model_id == "resnet50_v1_224")
    misses = held_misses(CAL.held, "hailo-8")
    found = neighbours(resnet.profile, "int8", "throughput_fps", published, scale)
    got = neighbour_miss(found, misses)
    points = published_points("resnet50_v1_224", "int8", "throughput_fps", published)
    near = nearest(features(resnet.profile, "int8"), points, scale)
    assert found == near
    assert len(near) == NEIGHBOURS and "resnet50_v1_224" not in {m for _, m in near}
    assert got == np.mean([misses[m] for _, m in near])
    assert neighbour_miss(found, {}) is None
    # every held-out figure on a validated device carries its neighbours' miss
    assert all(h.miss is not None for h in CAL.held if h.segment == "hailo-8")


def test_a_band_widens_with_the_neighbours_miss_and_still_covers_its_level() -> None:
    """Errors that grow with the neighbours' miss and not with novelty: the band follows the
    miss, and each held-out error judged by a band built without its model covers about 80%."""
    rng = np.random.default_rng(13)
    miss = rng.uniform(0, 1, 300)
    err = np.exp(1.5 * miss) * rng.normal(0, 0.1, 300)
    nov = rng.uniform(0, 3, 300)
    cal = Calibration(
        held=[
            Held("dev", f"m{i}", float(e), 0.0, "", float(v), miss=float(m))
            for i, (e, v, m) in enumerate(zip(err, nov, miss, strict=True))
        ]
    )
    cov, _, n = cal.coverage()
    assert n == 300 and 75 <= cov <= 85
    low, high = (cal.band("dev", novelty=1.5, miss=m) for m in (0.05, 0.95))
    assert low[0] < cal.band("dev")[0] < high[0]
    assert "miss on the published models nearest it" in high[1]


def test_a_model_beyond_every_held_out_one_is_told_to_measure_even_with_one_width() -> None:
    """Errors that do not grow with novelty: the band is one width for all, and a model
    farther than any held-out one still hears that nothing held out vouches for it."""
    rng = np.random.default_rng(17)
    nov = rng.uniform(0, 3, 200)
    cal = Calibration(
        held=[
            Held("dev", f"m{i}", float(e), 0.0, "", float(v))
            for i, (e, v) in enumerate(zip(np.exp(-nov) * 0.3, nov, strict=True))
        ]
    )
    plain, near, beyond = cal.band("dev"), cal.band("dev", novelty=1.0), cal.band("dev", novelty=9)
    assert plain[0] == near[0] == beyond[0]
    assert "measure it" in beyond[1] and "measure it" not in near[1]
