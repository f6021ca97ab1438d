"""make_plan: the whole decision, pure. Candidates per camera x workload, constraints, exact
Pareto frontier, operating point by priorities, reasons, runner-up, what would change it, TCO."""

import gc
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from edgeplan.planning import cost
from edgeplan.planning.cameras import camera_arrays
from edgeplan.planning.choose import choose
from edgeplan.planning.evaluate import evaluate
from edgeplan.planning.explain import candidate_set, explain_rows
from edgeplan.planning.inputs import PlanInputs
from edgeplan.planning.output import CandidateSet, Decision, Plan
from edgeplan.planning.pareto import frontier, objectives
from edgeplan.planning.patterns import Pattern, Violation
from edgeplan.planning.stability import optimistic, stable
from edgeplan.planning.summary import Items, Picked, blockers, cheapest
from edgeplan.planning.summary import summary as fleet_summary
from edgeplan.planning.template import Template, build_template
from edgeplan.spec.fleet import Workload


def _groups(inputs: PlanInputs) -> dict[str, list[tuple[int, int]]]:
    """(camera, workload) rows by identical workload: one candidate template each."""
    groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for ci, cam in enumerate(inputs.fleet.cameras):
        for wi, w in enumerate(cam.workloads):
            groups[w.model_dump_json()].append((ci, wi))
    return groups


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The plan is tens of thousands of small acyclic objects; the cyclic collector rescanning
    them as they are made costs a third of the planner's time. Reference counting frees them."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def make_plan(inputs: PlanInputs) -> Plan:
    """Plan every camera's workloads. Pure: same inputs, same plan (the one helper thread
    evaluates the stability bounds while the choice is made; nothing depends on timing)."""
    with _no_cyclic_gc(), ThreadPoolExecutor(1, thread_name_prefix="plan") as helper:
        return _make_plan(inputs, helper)


CHUNK_ROWS = 2048  # rows evaluated together (whole sites): bounds memory, keeps arrays in cache


def _chunks(rows: list[tuple[int, int]], inputs: PlanInputs) -> list[np.ndarray]:
    """Positions of a group's rows in chunks of whole sites (pooled devices are sized per
    site), each of about CHUNK_ROWS rows; a site larger than that is one chunk."""
    by_site: dict[str, list[int]] = defaultdict(list)
    for i, (ci, _) in enumerate(rows):
        by_site[inputs.fleet.cameras[ci].site].append(i)
    out: list[list[int]] = [[]]
    for positions in by_site.values():
        if out[-1] and len(out[-1]) + len(positions) > CHUNK_ROWS:
            out.append([])
        out[-1] += positions
    return [np.array(c) for c in out]


def _no_candidate(rows: list[tuple[int, int]], inputs: PlanInputs, w: Workload) -> list[Decision]:
    out = []
    for ci, wi in rows:
        cam = inputs.fleet.cameras[ci]
        out.append(
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
                    "no candidate: no performance figures for its models on any candidate "
                    "hardware or cloud option"
                ],
                candidates=0,
                frontier=0,
                dropped={},
            )
        )
    return out


def _runner_pool(
    t: Template, pick: np.ndarray, front: np.ndarray, feasible: np.ndarray
) -> np.ndarray:
    """Where the runner-up is chosen from: the frontier points of another pattern, else the
    feasible points of another pattern, else any other frontier point. A dedicated and a pooled
    device with the same model count as one pattern (on a site with one camera they are the
    same purchase)."""
    family = np.where(t.pattern == Pattern.SHARED_DEVICE, Pattern.ON_DEVICE, t.pattern)
    p0 = np.maximum(pick, 0)
    other_pattern = family[None, :] != family[p0][:, None]
    twin = ~other_pattern & (t.edge[None, :] == t.edge[p0][:, None])
    twin &= t.remote[None, :] == t.remote[p0][:, None]
    other = front & other_pattern
    other_any = front & ~twin
    other_feasible = feasible & other_pattern
    return np.where(
        other.any(1, keepdims=True),
        other,
        np.where(other_feasible.any(1, keepdims=True), other_feasible, other_any),
    )


def _make_plan(inputs: PlanInputs, helper: ThreadPoolExecutor) -> Plan:
    fleet = inputs.fleet
    sites = {s.id: s for s in fleet.sites}
    regions = sorted({c.region for c in fleet.cloud})
    decisions: dict[tuple[int, int], Decision] = {}
    sets: list[CandidateSet] = []
    picked = Picked()
    alt: dict[str, list[Items | None]] = defaultdict(list)
    blocked: dict[str, set[str]] = defaultdict(set)
    groups = _groups(inputs)
    for group in groups.values():
        ci0, wi0 = group[0]
        w = fleet.cameras[ci0].workloads[wi0]
        t = build_template(w, inputs.perf, inputs.devices, fleet, inputs.cascades, regions)
        if t.n == 0:
            decisions.update(zip(group, _no_candidate(group, inputs, w), strict=True))
            continue
        whole = camera_arrays(
            group, fleet.cameras, sites, fleet.costs, regions, w, inputs.gate_pass_rate
        )
        for at in _chunks(group, inputs):
            ca = whole.take(at)
            rows = ca.index
            ev = evaluate(t, ca, w, fleet, regions)
            bounds = helper.submit(optimistic, t, ca, w, fleet, regions, ev)  # frees the GIL
            feasible = ev.violations == 0
            obj = objectives(
                ev.latency_ms_p99, ev.accuracy, ev.power_w, ev.tco_usd, ev.availability
            )
            front = frontier(obj, feasible)
            pick = choose(obj, front, ev.availability, fleet.priorities)
            runner = choose(
                obj, _runner_pool(t, pick, front, feasible), ev.availability, fleet.priorities
            )
            edge_cols = np.isin(t.pattern, [Pattern.ON_DEVICE, Pattern.SHARED_DEVICE])[None, :]
            cloud_cols = (t.pattern == Pattern.CLOUD)[None, :]
            for label, cols in (("all-edge", edge_cols), ("all-cloud", cloud_cols)):
                alt[label].append(cheapest(ev, t, cols & feasible))
                blocked[label] |= blockers(ev, cols, feasible, w.latency_percentile)
            robust, threat = stable(t, ca, w, fleet, regions, pick, ev, bounds.result(), obj, front)
            made = explain_rows(rows, w, t, ev, inputs, pick, runner, front, ca, robust, threat)
            decisions.update(zip(rows, made, strict=True))
            if rows[0] == group[0]:
                sets.append(candidate_set(rows, w, t, ev, inputs, int(pick[0]), front, len(group)))
            picked.add(inputs, t, ev, pick, [ci for ci, _ in rows])
    ordered = [decisions[r] for g in groups.values() for r in g]
    summary = fleet_summary(inputs, ordered, picked, alt, blocked)
    assumptions: dict[str, float | str] = {
        **{f"costs.{k}": v for k, v in fleet.costs.model_dump().items()},
        "edge_utilisation_target": cost.UTIL_TARGET,
        "days_per_month": cost.DAYS_PER_MONTH,
        "hybrid_p99": "an escalated frame when 1% or more of frames escalate",
        "no-video-egress": "forbids cloud and prefilter streams; allows escalated/fallback stills",
    }
    return Plan(
        fleet=fleet.name,
        decisions=ordered,
        summary=summary,
        assumptions=assumptions,
        candidate_sets=sets,
    )


__all__ = ["Violation", "make_plan"]
