"""Turn the candidate arrays into Decisions: chosen option and runner-up with their sources, the
reasons, the binding constraints and what would change the choice.

Figures are gathered as arrays for all rows first; the per-row loop only formats strings, so a
fleet of thousands of cameras is explained in well under a second.
"""

import numpy as np

from edgeplan.planning.cameras import CameraArrays
from edgeplan.planning.columns import Columns, columns, options
from edgeplan.planning.evaluate import Evaluated
from edgeplan.planning.inputs import HOST_NOISE_PCT, PlanInputs
from edgeplan.planning.output import CandidatePoint, CandidateSet, Decision, built
from edgeplan.planning.patterns import LABELS, Pattern, Violation, reasons
from edgeplan.planning.template import Template
from edgeplan.spec.fleet import Priorities, Workload
from edgeplan.words import plural

_OBJ = {
    "latency": "latency_ms_p99",
    "accuracy": "accuracy",
    "power": "power_w",
    "cost": "tco_usd",
    "availability": "unavailability",
}
NAMES = [v.name.lower() for v in Violation]


def violation_counts(
    ev: Evaluated, pick: np.ndarray, pr: Priorities
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: candidates dropped by each constraint, and of those, how many were better than
    the chosen one on the first priority (the binding constraints). Both (C, bits)."""
    n = len(Violation)
    codes = np.ascontiguousarray(ev.violations, dtype="<u2")  # 14 bits
    bits = np.unpackbits(codes.view(np.uint8).reshape(*codes.shape, 2), axis=-1,
                         bitorder="little")[..., :n]  # fmt: skip
    vals = getattr(ev, _OBJ[pr.order[0]])
    vals = -vals if pr.order[0] == "accuracy" else vals
    ref = np.take_along_axis(vals, np.maximum(pick, 0)[:, None], axis=1)
    better = ((vals < ref) & (pick >= 0)[:, None]).astype(np.uint8)
    dropped = bits.sum(axis=1, dtype=np.int64)
    binding = np.einsum("cnb,cn->cb", bits, better, dtype=np.int64)
    return dropped, binding


def _what_if(
    w: Workload, t: Template, ev: Evaluated, inputs: PlanInputs, ca: CameraArrays, pick: np.ndarray
) -> list[list[str]]:
    """'What would change the decision', per row, from the cheapest pure-cloud candidate and
    the cheapest candidate dropped only for accuracy."""
    c = len(pick)
    rows = np.arange(c)
    out: list[list[str]] = [[] for _ in range(c)]
    months = inputs.fleet.horizon_years * 12
    chosen_tco = np.where(pick >= 0, ev.tco_usd[rows, np.maximum(pick, 0)], np.inf)
    cloud_cols = np.nonzero(t.pattern == Pattern.CLOUD)[0]
    if len(cloud_cols):
        k = cloud_cols[np.argmin(ev.tco_usd[:, cloud_cols], axis=1)]
        vk, tk = ev.violations[rows, k], ev.tco_usd[rows, k]
        region = t.region[k]
        rtt = ca.rtt_ms_p99[rows, np.maximum(region, 0)]
        need = w.latency_budget_ms - (ev.latency_ms_p99[rows, k] - rtt)
        cloud_part = ev.usd_per_month_by_part["cloud"][rows, k] * months
        cut = (tk - chosen_tco) / np.maximum(cloud_part, 1e-9)
        for r in np.nonzero(vk == (1 << Violation.LATENCY))[0].tolist():
            opt = inputs.fleet.cloud[t.cloud_opt[k[r]]].id
            if need[r] > 0:
                out[r].append(
                    f"if uplink RTT p99 < {need[r]:.0f} ms (now {rtt[r]:.0f} ms), cloud on "
                    f"{opt} would meet the {w.latency_budget_ms:g} ms budget"
                    + (" and cost less" if tk[r] < chosen_tco[r] else "")
                )
            else:
                out[r].append(
                    f"cloud on {opt} cannot meet {w.latency_budget_ms:g} ms even at 0 ms RTT"
                )
        for r in np.nonzero((vk == (1 << Violation.PRIVACY)) & (tk < chosen_tco))[0].tolist():
            out[r].append(
                "if the privacy rule allowed video egress, cloud would save "
                f"${(chosen_tco[r] - tk[r]) / months:.2f}/month"
            )
        flip = (vk == 0) & (pick >= 0) & (tk > chosen_tco) & (cloud_part > 0) & (cut < 1)
        for r in np.nonzero(flip)[0].tolist():
            out[r].append(f"if cloud compute were {cut[r]:.0%} cheaper, cloud would cost the same")
    acc_only = ev.violations == (1 << Violation.ACCURACY)
    if acc_only.any():
        tco = np.where(acc_only, ev.tco_usd, np.inf)
        k = tco.argmin(axis=1)
        for r in np.nonzero(tco[rows, k] < chosen_tco)[0].tolist():
            kk = int(k[r])
            out[r].append(
                f"if the accuracy floor were {ev.accuracy[r, kk]:.3f} (now "
                f"{w.accuracy_floor:g}), {LABELS[Pattern(int(t.pattern[kk]))]} with "
                f"{display(inputs.perf[max(t.edge[kk], t.remote[kk])].model)} would be cheaper"
            )
    return out


_WORSE = {
    "cost": "more expensive",
    "latency": "slower",
    "power": "more power",
    "availability": "more downtime",
    "accuracy": "less accurate",
}


def display(ref: str | None) -> str:
    """A model reference as a person reads it: the file name (paths and $VARS dropped)."""
    return (ref or "").replace("\\", "/").rsplit("/", 1)[-1]


def _margins(ev: Evaluated, pick: np.ndarray, runner: np.ndarray, first: str) -> list[float | None]:
    """Per row: how much worse the runner-up is than the choice on the first priority, %."""
    vals = getattr(ev, _OBJ[first])
    rows = np.arange(len(pick))
    a = vals[rows, np.maximum(pick, 0)]
    b = vals[rows, np.maximum(runner, 0)]
    maximise = first == "accuracy"
    gap = np.where(maximise, a - b, b - a) / np.maximum(np.abs(a), 1e-12) * 100
    ok = (pick >= 0) & (runner >= 0) & np.isfinite(gap)
    return [round(float(g), 1) if o else None for g, o in zip(gap, ok, strict=True)]


def same_device_fallback(st: Columns, t: Template, ev: Evaluated, pick: np.ndarray) -> np.ndarray:
    """Per row: the best other model on the chosen device (an edge pattern), the agent's next
    rung when the chosen one fails. Feasible ones first, then the fastest; -1 when none."""
    out = np.full(len(pick), -1)
    edge = np.isin(t.pattern, [Pattern.ON_DEVICE, Pattern.SHARED_DEVICE])
    hw = np.array([h or "" for h in st.hardware], dtype=object)
    model = np.array([m or "" for m in st.model], dtype=object)
    for j in np.unique(pick[pick >= 0]).tolist():
        if not edge[j]:
            continue
        cols = np.nonzero(edge & (hw == hw[j]) & (model != model[j]))[0]
        if not len(cols):
            continue
        rows = np.nonzero(pick == j)[0]
        lat = ev.latency_ms_p99[np.ix_(rows, cols)]
        ok = ev.violations[np.ix_(rows, cols)] == 0
        key = np.where(ok, lat, lat + 1e12)  # any feasible beats every infeasible
        out[rows] = cols[np.argmin(key, axis=1)]
    return out


def explain_rows(
    rows: list[tuple[int, int]],
    w: Workload,
    t: Template,
    ev: Evaluated,
    inputs: PlanInputs,
    pick: np.ndarray,
    runner: np.ndarray,
    front: np.ndarray,
    ca: CameraArrays,
    robust: np.ndarray,
    threat: np.ndarray,
) -> list[Decision]:
    """One Decision per row of the group."""
    fleet, pr = inputs.fleet, inputs.fleet.priorities
    months = fleet.horizon_years * 12
    st = columns(t, inputs)
    dropped_n, binding_n = violation_counts(ev, pick, pr)
    closest = np.argmin(np.bitwise_count(ev.violations.astype(np.uint64)), axis=1)
    chosen = options(st, ev, pick, months)
    runner_idx = np.where((runner >= 0) & (runner != pick), runner, -1)
    runner_idx = np.where(pick >= 0, runner_idx, closest)
    runners = options(st, ev, runner_idx, months)
    fallbacks = options(st, ev, same_device_fallback(st, t, ev, pick), months)
    what = _what_if(w, t, ev, inputs, ca, pick)
    margin = _margins(ev, pick, runner_idx, pr.order[0])
    excluded = {
        p.hardware: p.exclusion
        for p in inputs.perf
        if p.model in w.models and not p.deployable and p.exclusion
    }
    n_front = front.sum(axis=1).tolist()
    how = (f"weights {pr.weights}" if pr.weights else f"priority order {', '.join(pr.order)}") + (
        " after preferring the most available patterns (reliability)" if pr.reliability else ""
    )
    out = []
    dropped_l, binding_l = dropped_n.tolist(), binding_n.tolist()
    for r, (ci, wi) in enumerate(rows):
        cam = fleet.cameras[ci]
        dropped = {NAMES[b]: n for b, n in enumerate(dropped_l[r]) if n}
        c = chosen[r]
        if c is None:
            why = [
                "no candidate meets every constraint; closest one fails: "
                + "; ".join(reasons(int(ev.violations[r, closest[r]]), w.latency_percentile))
            ]
            binding: list[str] = []
        else:
            shown = display(c.model or c.cloud_model)
            if c.variant:
                shown = f"{shown} as its {c.variant} variant"
            why = [
                f"{c.pattern} on {c.hardware or c.cloud} with {shown}: "
                f"p{w.latency_percentile} {c.latency_ms_p99:.1f} ms "
                f"(budget {w.latency_budget_ms:g}), accuracy "
                f"{c.accuracy if c.accuracy is not None else 'unknown'} "
                f"(floor {w.accuracy_floor:g}), ${c.usd_per_month:.2f}/month, {c.power_w:.1f} W",
                f"picked from {n_front[r]} Pareto-optimal of {plural(t.n, 'candidate')} by {how}",
            ]
            if c.pattern in ("hybrid", "federated-edge"):
                to = c.cloud or f"{display(c.cloud_model)} on a site device"
                why.append(
                    f"escalates {c.escalation_rate:.1%} of frames to {to}; accuracy "
                    f"from {c.sources['accuracy']}"
                )
            if c.latency_band_pct:
                why.append(f"latency is projected (+-{c.latency_band_pct:.0f}%)")
            m = margin[r]
            line = ""
            if m is not None and runners[r] is not None:
                word = _WORSE.get(pr.order[0], f"worse on {pr.order[0]}")
                line = f"margin: the runner-up is {m:.0f}% {word}; "
            if robust[r]:
                line += "stable: no figure moving within its uncertainty changes the choice"
            else:
                k = int(threat[r])
                rival = (
                    f" ({st.label[k]} on {st.hardware[k] or st.cloud[k]} with "
                    f"{display(st.model[k] or st.cloud_model[k])} could win)"
                    if k >= 0
                    else ""
                )
                line += (
                    f"could change within the figures' uncertainty{rival}: this host's "
                    f"measurements move ±{HOST_NOISE_PCT:g}%, projections within their band; "
                    "measure on the device before buying (records import --device)"
                )
            why.append(line)
            if w.privacy != "none":
                why.append(
                    f"privacy {w.privacy}: patterns sending more than it allows off site were "
                    "excluded"
                )
            for hw, reason in excluded.items():
                why.append(f"excluded {hw}: {reason}")
            binding = [
                f"{NAMES[b]}: {plural(n, 'candidate')} better on {pr.order[0]} "
                + ("violates" if n == 1 else "violate")
                + " it"
                for b, n in enumerate(binding_l[r])
                if n
            ]
        out.append(
            built(
                Decision,
                dict(
                    camera=cam.id,
                    site=cam.site,
                    workload=wi,
                    task=w.task,
                    latency_budget_ms=w.latency_budget_ms,
                    accuracy_floor=w.accuracy_floor,
                    chosen=c,
                    runner_up=runners[r],
                    fallback=fallbacks[r],
                    margin_pct=margin[r],
                    margin_on=pr.order[0],
                    stable=bool(robust[r]) if c is not None else None,
                    excluded=excluded,
                    reasons=why,
                    binding_constraints=binding,
                    what_would_change=what[r],
                    candidates=t.n,
                    frontier=n_front[r],
                    dropped=dropped,
                ),
            )
        )
    return out


def candidate_set(
    rows: list[tuple[int, int]],
    w: Workload,
    t: Template,
    ev: Evaluated,
    inputs: PlanInputs,
    pick: int,
    front: np.ndarray,
    sharing: int,
) -> CandidateSet:
    """Every candidate of the group's first camera (row 0), for the Pareto plot; `sharing`
    cameras have the same workload."""
    st = columns(t, inputs)
    months = inputs.fleet.horizon_years * 12
    pts = []
    for j in range(t.n):
        acc = float(ev.accuracy[0, j])
        src = st.sources[j].get("edge latency") or st.sources[j].get("cloud inference", "")
        pts.append(
            CandidatePoint.model_construct(
                pattern=st.label[j],
                hardware=st.hardware[j],
                model=st.model[j] or st.cloud_model[j],
                cloud=st.cloud[j],
                latency_ms_p99=round(float(ev.latency_ms_p99[0, j]), 3),
                accuracy=None if np.isnan(acc) else round(acc, 4),
                power_w=round(float(ev.power_w[0, j]), 3),
                usd_per_month=round(float(ev.tco_usd[0, j]) / months, 2),
                feasible=bool(ev.violations[0, j] == 0),
                frontier=bool(front[0, j]),
                chosen=j == pick,
                dropped_by=[
                    NAMES[b] for b in range(len(Violation)) if (int(ev.violations[0, j]) >> b) & 1
                ],
                latency_source=src,
                accuracy_source=st.sources[j].get("accuracy", ""),
            )
        )
    cam = inputs.fleet.cameras[rows[0][0]]
    return CandidateSet.model_construct(
        camera=cam.id, workload=rows[0][1], task=w.task, cameras_sharing=sharing, points=pts
    )
