"""The seed's claims, encoded: each test fails if the planner contradicts one."""

from edgeplan.planning import Cascade, PerfPoint, make_plan

from .fixtures import PERF, camera, fleet, inputs, workload


def chosen(plan, i=0):
    return plan.decisions[i].chosen


SERVERLESS = [{"id": "g4dn", "kind": "serverless", "region": "us-east-1", "usd_per_gb_s": 0.00002}]


def test_no_video_egress_never_goes_pure_cloud() -> None:
    # a per-request serverless cloud would be the cheapest here (1 fps, 2 h a day), but the rule
    # forbids streams off site
    cams = [camera(0, fps=1, hours_per_day=2, workloads=[workload(privacy="no-video-egress")])]
    plan = make_plan(inputs(fleet(cams, cloud=SERVERLESS)))
    assert chosen(plan).pattern not in ("cloud", "cloud-with-edge-prefilter")
    assert plan.decisions[0].dropped.get("privacy", 0) > 0
    open_plan = make_plan(inputs(fleet([camera(0, fps=1, hours_per_day=2)], cloud=SERVERLESS)))
    assert chosen(open_plan).pattern != chosen(plan).pattern  # the rule, not cost, decided


def test_disconnected_site_never_goes_pure_cloud() -> None:
    plan = make_plan(inputs(fleet([camera(0, fps=1)], site={"availability_pct": 0})))
    assert chosen(plan).pattern in ("on-device", "shared-site-device", "cloud-fallback")
    assert "offline" in plan.decisions[0].dropped


def test_latency_budget_below_cloud_rtt_goes_to_the_edge() -> None:
    cams = [camera(0, fps=5, workloads=[workload(latency_budget_ms=40)])]
    plan = make_plan(inputs(fleet(cams)))  # RTT p99 60 ms > 40 ms budget
    assert chosen(plan).pattern in ("on-device", "shared-site-device", "cloud-fallback")
    assert chosen(plan).latency_ms_p99 <= 40
    assert any("RTT" in s for s in plan.decisions[0].what_would_change)


def test_low_volume_latency_tolerant_accuracy_critical_goes_to_the_cloud() -> None:
    wl = workload(
        latency_budget_ms=2000,
        accuracy_floor=0.40,
        duty_cycle={"mode": "motion", "active_fraction": 0.02},
    )
    plan = make_plan(inputs(fleet([camera(0, fps=1, hours_per_day=4, workloads=[wl])])))
    assert chosen(plan).pattern in ("cloud", "cloud-with-edge-prefilter")
    assert chosen(plan).accuracy >= 0.40


def test_continuous_30fps_16_cameras_edge_is_cheaper_with_break_even_in_months() -> None:
    plan = make_plan(inputs(fleet([camera(i, fps=30) for i in range(16)])))
    s = plan.summary
    assert all(d.chosen.pattern in ("on-device", "shared-site-device") for d in plan.decisions)
    edge, cloud = s.cumulative["all-edge"], s.cumulative["all-cloud"]
    assert edge[-1].usd_cumulative < cloud[-1].usd_cumulative
    assert s.break_even_month is not None and 1 <= s.break_even_month <= 12


def test_unreliable_network_with_reliability_priority_avoids_pure_cloud() -> None:
    wl = workload(latency_budget_ms=2000, accuracy_floor=0.25)
    f = fleet(
        [camera(0, fps=1, hours_per_day=4, workloads=[wl])],
        site={"availability_pct": 90.0},
        priorities={"reliability": True},
        cloud=SERVERLESS,
    )
    plan = make_plan(inputs(f))
    assert chosen(plan).pattern in ("cloud-fallback", "on-device", "shared-site-device")
    without = make_plan(
        inputs(
            fleet(
                [camera(0, fps=1, hours_per_day=4, workloads=[wl])],
                site={"availability_pct": 90.0},
                cloud=SERVERLESS,
            )
        )
    )
    assert chosen(without).pattern == "cloud"  # cost alone would pick the cloud here


def test_edge_below_floor_with_high_recall_goes_hybrid() -> None:
    """The edge model misses the floor alone; a measured cascade that escalates 15% of frames
    holds it, at a fraction of the pure-cloud cost (40 cameras: the cloud needs whole instances
    for all their frames, the hybrid for 15% of them)."""
    wl = workload(accuracy_floor=0.38, latency_budget_ms=300)
    casc = (Cascade("det-small", "det-large", escalation_rate=0.15, accuracy=0.41),)
    cams = [camera(i, fps=15, workloads=[wl]) for i in range(40)]
    plan = make_plan(inputs(fleet(cams), cascades=casc))
    c = chosen(plan)
    assert c.pattern == "hybrid" and c.accuracy >= 0.38 and c.escalation_rate == 0.15
    assert c.sources["accuracy"].startswith("measured: cascade")
    assert plan.decisions[0].runner_up is not None


def test_unplaceable_workload_says_why() -> None:
    wl = workload(latency_budget_ms=1, accuracy_floor=0.9)
    plan = make_plan(inputs(fleet([camera(0, workloads=[wl])])))
    d = plan.decisions[0]
    assert d.chosen is None and plan.summary.unplaced == 1
    assert "latency" in d.reasons[0] and "accuracy" in d.reasons[0]


def test_not_deployable_hardware_is_dropped() -> None:
    perf = (
        *PERF[:1],
        PerfPoint("det-small", "rpi5", 5.0, 500.0, 0.3, 2.0, deployable=False),
        *PERF[2:],
    )
    plan = make_plan(inputs(fleet([camera(0)]), perf=perf))
    assert chosen(plan).hardware != "rpi5" and plan.decisions[0].dropped["not_deployable"] >= 1


def test_plan_is_deterministic() -> None:
    f = fleet([camera(i, fps=5 + i) for i in range(5)])
    assert make_plan(inputs(f)).model_dump_json() == make_plan(inputs(f)).model_dump_json()
