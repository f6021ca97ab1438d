"""TCO cases computed by hand, with the arithmetic shown, matched to the cent."""

import numpy as np
import pytest

from edgeplan.planning import make_plan
from edgeplan.planning.cost import break_even_month, monthly_series, tco_usd

from .fixtures import PERF, camera, fleet, inputs

DAYS = 365.25 / 12  # 30.4375


def test_on_device_tco_by_hand() -> None:
    # one 10 fps camera, 24 h/day, on a $249 Jetson (life 5 y) at $0.13/kWh, horizon 3 y
    f = fleet([camera(0, fps=10)], cloud=[])
    opt = make_plan(inputs(f, perf=PERF[:1])).decisions[0].chosen
    assert opt.pattern == "on-device"
    util = 10 / 80  # demand / throughput of the one device
    avg_w = 7 + (10 - 7) * util  # idle + (load - idle) * utilisation = 7.375 W
    energy = avg_w / 1000 * 24 * DAYS * 0.13  # $0.7004/month
    maintenance = 249 * 0.10 / 12  # 10%/year of capex = $2.075/month
    orchestration = 2.0  # $/device/month
    opex = energy + maintenance + orchestration  # $4.7754/month
    tco = 249 * 1 + opex * 36  # one purchase within 3 years (life 5)
    assert round(tco, 2) == 420.91
    assert opt.tco_usd == round(tco, 2)
    assert opt.usd_per_month == round(tco / 36, 2) == 11.69
    assert opt.power_w == round(avg_w, 3)


def test_cloud_tco_by_hand() -> None:
    # the same camera streamed to a g4dn ($0.526/h, 300 fps, 60% utilisation) over metered LTE:
    # whole instances, billed while the camera runs
    f = fleet(
        [camera(0, fps=10)],
        site={"metered_usd_per_gb": 0.05},
        cloud=[
            {"id": "g4dn", "kind": "gpu-instance", "region": "us-east-1", "usd_per_hour": 0.526}
        ],
    )
    plan = make_plan(inputs(f, perf=(PERF[2],)))
    opt = plan.decisions[0].chosen
    assert opt.pattern == "cloud"
    instances = 1  # 10 / (300 * 0.6) = 0.056 of one, but instances are whole
    compute = instances * 0.526 * 24 * DAYS  # $384.24/month
    frames = 10 * 3600 * 24 * DAYS  # 26,298,000 frames/month
    gb = frames * (2.0e6 / 8 / 10) / 1e9  # 1080p10 H.264 = 2.0 Mbit/s -> 657.45 GB/month
    data = gb * 0.05  # $32.87/month
    tco = (compute + data) * 36
    assert round(tco, 2) == 15016.16  # (384.2430 + 32.8725) * 36
    assert opt.tco_usd == round(tco, 2)


def test_refresh_at_end_of_life() -> None:
    # a device with a 2-year life, over 5 years, is bought 3 times (months 0, 24, 48)
    assert tco_usd(np.array(100.0), np.array(2.0), np.array(1.0), 5.0) == 100 * 3 + 1 * 60
    s = monthly_series(100.0, 2.0, 1.0, 5.0)
    assert s[0] == 101 and s[23] == 124 and s[24] == 225 and s[48] == 349 and s[-1] == 360


def test_break_even_month() -> None:
    edge = monthly_series(300.0, 5.0, 5.0, 1.0)  # 305, 310, ...
    cloud = monthly_series(0.0, 1.0, 60.0, 1.0)  # 60, 120, ...
    # 300 + 5m <= 60m  <=>  m >= 5.45: month 6
    assert break_even_month(edge, cloud) == 6
    assert break_even_month(cloud, edge) is None or break_even_month(cloud, edge) == 1


@pytest.mark.parametrize("fps", [5, 30])
def test_summary_adds_up(fps: float) -> None:
    plan = make_plan(inputs(fleet([camera(i, fps=fps) for i in range(6)])))
    s = plan.summary
    assert s.cumulative["plan"][-1].usd_cumulative == pytest.approx(s.tco_usd, abs=0.01)
    assert sum(s.by_pattern.values()) == 6
    for t in s.sensitivity:
        assert t.tco_usd_low <= t.tco_usd_high
