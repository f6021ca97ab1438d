"""Property tests for the pure maths: frontier, dominance, monotone cost."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edgeplan.planning import make_plan
from edgeplan.planning.pareto import frontier

from .fixtures import camera, fleet, inputs, workload

objs = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, (1, n, 4), elements=st.floats(0, 10, allow_nan=False)),
        arrays(bool, (1, n)),
    )
)


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool((a <= b).all() and (a < b).any())


@given(objs)
def test_no_frontier_point_is_dominated(case: tuple[np.ndarray, np.ndarray]) -> None:
    obj, feas = case
    front = frontier(obj, feas)
    n = obj.shape[1]
    for i in np.nonzero(front[0])[0]:
        assert feas[0, i]
        assert not any(_dominates(obj[0, j], obj[0, i]) for j in range(n) if feas[0, j])


@given(objs)
def test_every_dropped_point_is_infeasible_or_dominated_by_the_frontier(
    case: tuple[np.ndarray, np.ndarray],
) -> None:
    obj, feas = case
    front = frontier(obj, feas)
    for i in range(obj.shape[1]):
        if front[0, i]:
            continue
        assert (not feas[0, i]) or any(
            _dominates(obj[0, j], obj[0, i]) for j in np.nonzero(front[0])[0]
        )


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 40),
    st.floats(0.05, 0.9),
    st.floats(0.1, 4.0),
    st.floats(0.1, 4.0),
    st.floats(0.1, 4.0),
)
def test_plan_dropped_candidates_are_named_or_dominated(
    fps: int, floor: float, a: float, b: float, c: float
) -> None:
    """At plan level: the frontier holds only feasible points, and each decision's counts add up."""
    f = fleet(
        [camera(0, fps=fps, workloads=[workload(accuracy_floor=floor, latency_budget_ms=100 * a)])],
        site={"electricity_usd_per_kwh": 0.1 * b, "metered_usd_per_gb": 0.01 * c},
    )
    d = make_plan(inputs(f)).decisions[0]
    assert d.frontier <= d.candidates
    if d.chosen is not None:
        assert d.chosen.latency_ms_p99 <= 100 * a + 1e-6
        assert d.chosen.accuracy is None or d.chosen.accuracy >= floor - 1e-9


@settings(max_examples=25, deadline=None)
@given(st.floats(0.01, 0.5), st.floats(1.0, 3.0), st.sampled_from(["kwh", "gb", "hour", "price"]))
def test_cost_is_monotone_in_its_prices(base: float, factor: float, which: str) -> None:
    """Cost alone, no tie band: the plan's TCO is the cheapest candidate's, monotone in every
    price. (With a tolerance band a dearer device can leave the band and a cheaper, slower one
    be chosen, so a plan's total is not monotone in prices; its candidates' costs are.)"""

    def tco(scale: float) -> list[float]:
        site = {
            "electricity_usd_per_kwh": base * (scale if which == "kwh" else 1),
            "metered_usd_per_gb": base * (scale if which == "gb" else 1),
        }
        cloud = [
            {
                "id": "g4dn",
                "kind": "gpu-instance",
                "region": "us-east-1",
                "usd_per_hour": 0.5 * (scale if which == "hour" else 1),
            },
            {"id": "vision-api", "kind": "api", "region": "us-east-1", "usd_per_1000_images": 1.5},
        ]
        hw = [
            {"id": "jetson-orin-nano-super", "price_usd": 249 * (scale if which == "price" else 1)},
            {"id": "rpi5", "price_usd": 80 * (scale if which == "price" else 1)},
        ]
        f = fleet([camera(0, fps=10)], site=site, cloud=cloud, hardware=hw,
                  priorities={"order": ["cost"], "tolerance_pct": 0})  # fmt: skip
        from edgeplan.planning import DeviceCost, PlanInputs

        from .fixtures import DEVICES, PERF

        devs = {
            k: DeviceCost(k, h["price_usd"], 5.0, d.idle_w)
            for (k, d), h in zip(DEVICES.items(), hw, strict=True)
        }
        plan = make_plan(PlanInputs(fleet=f, perf=PERF, devices=devs))
        return [plan.summary.tco_usd]

    assert tco(factor)[0] >= tco(1.0)[0] - 1e-6
