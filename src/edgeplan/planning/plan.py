"""make_plan: the whole decision, pure. Candidates per camera x workload, constraints, exact
Pareto frontier, operating point by priorities, reasons, runner-up, what would change it, TCO."""

from collections import defaultdict

import numpy as np

from edgeplan.planning import cost
from edgeplan.planning.candidates import (
    Evaluated,
    Template,
    build_template,
    camera_arrays,
    evaluate,
)
from edgeplan.planning.choose import choose
from edgeplan.planning.explain import candidate_set, explain_rows
from edgeplan.planning.inputs import PlanInputs
from edgeplan.planning.output import (
    CandidateSet,
    Decision,
    FleetSummary,
    Plan,
    SeriesPoint,
    Tornado,
)
from edgeplan.planning.pareto import frontier, objectives
from edgeplan.planning.patterns import Pattern, Violation


def _groups(inputs: PlanInputs) -> dict[str, list[tuple[int, int]]]:
    groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for ci, cam in enumerate(inputs.fleet.cameras):
        for wi, w in enumerate(cam.workloads):
            groups[w.model_dump_json()].append((ci, wi))
    return groups


def make_plan(inputs: PlanInputs) -> Plan:
    """Plan every camera's workloads. Pure: same inputs, same plan."""
    fleet = inputs.fleet
    sites = {s.id: s for s in fleet.sites}
    regions = sorted({c.region for c in fleet.cloud})
    decisions: list[Decision] = []
    sets: list[CandidateSet] = []
    picked: list[tuple[Template, Evaluated, int, int, int]] = []  # for the summary
    alt: dict[str, list[list[tuple[float, float, float]] | None]] = defaultdict(list)
    for rows in _groups(inputs).values():
        ci0, wi0 = rows[0]
        w = fleet.cameras[ci0].workloads[wi0]
        t = build_template(w, inputs.perf, inputs.devices, fleet, inputs.cascades, regions)
        ca = camera_arrays(rows, fleet.cameras, sites, fleet.costs, regions, w)
        if t.n == 0:
            for ci, wi in rows:
                cam = fleet.cameras[ci]
                decisions.append(
                    Decision(
                        camera=cam.id,
                        site=cam.site,
                        workload=wi,
                        task=w.task,
                        chosen=None,
                        runner_up=None,
                        binding_constraints=[],
                        what_would_change=[],
                        reasons=[
                            "no candidate: no performance figures for its models on any "
                            "candidate hardware or cloud option"
                        ],
                        candidates=0,
                        frontier=0,
                        dropped={},
                    )
                )
            continue
        ev = evaluate(t, ca, w, fleet, regions)
        feasible = ev.violations == 0
        obj = objectives(ev.latency, ev.accuracy, ev.power, ev.tco)
        front = frontier(obj, feasible)
        pick = choose(obj, front, ev.availability, fleet.priorities)
        # runner-up: best frontier point of another pattern, else any other frontier point
        other = front & (t.pattern[None, :] != np.take(t.pattern, np.maximum(pick, 0))[:, None])
        other_any = front.copy()
        other_any[np.arange(len(pick)), np.maximum(pick, 0)] = False
        # runner-up: best frontier point of another pattern, else any feasible point of another
        # pattern, else any other frontier point
        other_feasible = feasible & (
            t.pattern[None, :] != np.take(t.pattern, np.maximum(pick, 0))[:, None]
        )
        pool = np.where(
            other.any(1, keepdims=True),
            other,
            np.where(other_feasible.any(1, keepdims=True), other_feasible, other_any),
        )
        runner = choose(obj, pool, ev.availability, fleet.priorities)
        edge_like = (
            np.isin(t.pattern, [Pattern.ON_DEVICE, Pattern.SHARED_DEVICE])[None, :] & feasible
        )
        cloud_like = (t.pattern == Pattern.CLOUD)[None, :] & feasible
        for label, mask in (("all-edge", edge_like), ("all-cloud", cloud_like)):
            alt[label].append(_cheapest(ev, t, mask))
        decisions += explain_rows(rows, w, t, ev, inputs, pick, runner, front, ca)
        sets.append(candidate_set(rows, w, t, ev, inputs, int(pick[0]), front))
        for r, (_ci, _wi) in enumerate(rows):
            if pick[r] >= 0:
                picked.append((t, ev, r, int(pick[r]), rows[r][0]))
    summary = _summary(inputs, decisions, picked, alt)
    assumptions: dict[str, float | str] = {
        **{f"costs.{k}": v for k, v in fleet.costs.model_dump().items()},
        "edge_utilisation_target": cost.UTIL_TARGET,
        "days_per_month": cost.DAYS_PER_MONTH,
        "hybrid_p99": "an escalated frame when 1% or more of frames escalate",
        "no-video-egress": "forbids cloud and prefilter streams; allows escalated/fallback stills",
    }
    return Plan(
        fleet=fleet.name,
        decisions=decisions,
        summary=summary,
        assumptions=assumptions,
        candidate_sets=sets,
    )


def _cheapest(
    ev: Evaluated, t: Template, mask: np.ndarray
) -> list[tuple[float, float, float]] | None:
    """(capex, life, opex) summed per life of each row's cheapest allowed candidate; None when
    some row has no allowed candidate (that alternative cannot serve the whole fleet)."""
    tco = np.where(mask, ev.tco, np.inf)
    if not np.isfinite(tco).any(axis=1).all():
        return None
    j = tco.argmin(axis=1)
    rows = np.arange(len(j))
    capex, opex, life = ev.capex[rows, j], ev.opex[rows, j], t.edge_life[j]
    return [
        (float(capex[life == v].sum()), float(v), float(opex[life == v].sum()))
        for v in np.unique(life)
    ]


def _series(items: list[tuple[float, float, float]], horizon: float) -> np.ndarray:
    """Cumulative monthly spend of (capex, life, opex) items, grouped by life first."""
    total = np.zeros(round(horizon * 12))
    by_life: dict[float, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for capex, life, opex in items:
        by_life[life][0] += capex
        by_life[life][1] += opex
    for life, (capex, opex) in by_life.items():
        total += cost.monthly_series(capex, life, opex, horizon)
    return total


def _summary(
    inputs: PlanInputs,
    decisions: list[Decision],
    picked: list[tuple[Template, Evaluated, int, int, int]],
    alt: dict[str, list],
) -> FleetSummary:
    fleet = inputs.fleet
    h = fleet.horizon_years
    by_pattern: dict[str, int] = defaultdict(int)
    usd_by_pattern: dict[str, float] = defaultdict(float)
    for d in decisions:
        if d.chosen:
            by_pattern[d.chosen.pattern] += 1
            usd_by_pattern[d.chosen.pattern] += d.chosen.usd_per_month
    # devices per site: dedicated devices whole, shared devices pooled then rounded up
    devices: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    plan_items: list[tuple[float, float, float]] = []
    shared_pool: dict[tuple[str, str], float] = defaultdict(float)
    for t, ev, r, j, ci in picked:
        site = fleet.cameras[ci].site
        hw = inputs.perf[t.edge[j]].hardware if t.edge[j] >= 0 else None
        n = ev.capex[r, j] / t.edge_price[j] if t.edge_price[j] > 0 else 0.0
        if t.pattern[j] == Pattern.SHARED_DEVICE and hw:
            shared_pool[(site, hw)] += n
            plan_items.append((0.0, 1.0, float(ev.opex[r, j])))
        else:
            if hw:
                devices[site][hw] += n
            plan_items.append((float(ev.capex[r, j]), float(t.edge_life[j]), float(ev.opex[r, j])))
    for (site, hw), n in shared_pool.items():
        whole = float(np.ceil(n - 1e-9))
        devices[site][hw] += whole
        dev = inputs.devices[hw]
        plan_items.append((whole * dev.price_usd, dev.life_years, 0.0))
    series = {"plan": _series(plan_items, h)}
    for label, parts in alt.items():
        if parts and all(p is not None for p in parts):
            series[label] = _series([x for p in parts for x in p], h)
    be, be_note = None, ""
    if "all-edge" in series and "all-cloud" in series:
        be = cost.break_even_month(series["all-edge"], series["all-cloud"])
        if be is None:
            be_note = "the all-edge fleet never becomes cheaper within the horizon"
    else:
        missing = [k for k in ("all-edge", "all-cloud") if k not in series]
        be_note = (
            f"no {' or '.join(missing)} alternative serves every workload (constraints "
            "such as privacy, latency or uplink rule it out)"
        )
    tco_total = float(series["plan"][-1]) if len(series["plan"]) else 0.0
    return FleetSummary(
        horizon_years=h,
        cameras=len(fleet.cameras),
        decisions=len(decisions),
        unplaced=sum(d.chosen is None for d in decisions),
        usd_per_month=tco_total / (h * 12),
        tco_usd=tco_total,
        by_pattern=dict(by_pattern),
        usd_per_month_by_pattern={k: round(v, 2) for k, v in usd_by_pattern.items()},
        devices_by_site={s: {k: int(v) for k, v in d.items()} for s, d in devices.items()},
        cumulative={
            k: [
                SeriesPoint(month=i + 1, usd_cumulative=round(float(v), 2)) for i, v in enumerate(s)
            ]
            for k, s in series.items()
        },
        break_even_month=be,
        break_even_note=be_note,
        sensitivity=_tornado(picked, h),
    )


def _tornado(
    picked: list[tuple[Template, Evaluated, int, int, int]], horizon: float
) -> list[Tornado]:
    """Plan TCO with each cost component's input at -50% / +50% (first order: components scale
    linearly with their price; device price also scales maintenance)."""
    months = horizon * 12
    comp: dict[str, float] = defaultdict(float)
    base = 0.0
    for t, ev, r, j, _ in picked:
        purchases = np.ceil(horizon / max(t.edge_life[j], 1e-9) - 1e-9) if ev.capex[r, j] > 0 else 0
        capex = float(ev.capex[r, j] * purchases)
        comp["device price"] += capex + float(ev.parts["maintenance"][r, j]) * months
        comp["electricity price"] += float(ev.parts["energy"][r, j]) * months
        comp["cloud compute price"] += float(ev.parts["cloud"][r, j]) * months
        comp["data price ($/GB)"] += float(ev.parts["data"][r, j]) * months
        comp["orchestration"] += float(ev.parts["orchestration"][r, j]) * months
        base += float(ev.tco[r, j])
    rows = [
        Tornado(
            input=k, tco_usd_low=round(base - 0.5 * v, 2), tco_usd_high=round(base + 0.5 * v, 2)
        )
        for k, v in comp.items()
    ]
    return sorted(rows, key=lambda x: -(x.tco_usd_high - x.tco_usd_low))


__all__ = ["Violation", "make_plan"]
