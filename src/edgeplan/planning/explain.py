"""Turn one row of the candidate arrays into a Decision: the chosen option and runner-up with
their sources, the reasons, the binding constraints and what would change the choice."""

import numpy as np

from edgeplan.planning.candidates import CameraArrays, Evaluated, Template
from edgeplan.planning.inputs import PlanInputs
from edgeplan.planning.output import Decision, Option
from edgeplan.planning.patterns import Pattern, Violation, reasons
from edgeplan.spec.fleet import Camera, Priorities, Workload

_OBJ = {"latency": "latency", "accuracy": "accuracy", "power": "power", "cost": "tco"}


def option(t: Template, ev: Evaluated, inputs: PlanInputs, r: int, j: int) -> Option:
    ep = inputs.perf[t.edge[j]] if t.edge[j] >= 0 else None
    cp = inputs.perf[t.cloud[j]] if t.cloud[j] >= 0 else None
    pat = Pattern(int(t.pattern[j]))
    sources = {}
    if ep:
        sources["edge latency"] = ep.source
    if cp:
        sources["cloud inference"] = cp.source
        sources["network"] = "fleet.yaml (site RTT, uplink)"
    if pat == Pattern.HYBRID:
        sources["accuracy"] = "measured cascade" if t.acc_measured[j] else "assumed (declared rate)"
    else:
        sources["accuracy"] = (ep or cp).source if (ep or cp) else "none"  # type: ignore[union-attr]
    sources["cost"] = "catalogue prices + fleet.yaml"
    acc = float(ev.accuracy[r, j])
    return Option(
        pattern=pat.label,
        hardware=ep.hardware if ep else None,
        model=ep.model if ep else None,
        cloud=inputs.fleet.cloud[t.cloud_opt[j]].id if t.cloud_opt[j] >= 0 else None,
        cloud_model=cp.model if cp else None,
        latency_ms_p99=round(float(ev.latency[r, j]), 3),
        accuracy=None if np.isnan(acc) else round(acc, 4),
        power_w=round(float(ev.power[r, j]), 3),
        usd_per_month=round(float(ev.tco[r, j]) / (inputs.fleet.horizon_years * 12), 2),
        tco_usd=round(float(ev.tco[r, j]), 2),
        availability=round(float(ev.availability[r, j]), 5),
        escalation_rate=round(float(t.esc[j]), 4) if pat == Pattern.HYBRID else 0.0,
        sources=sources,
        latency_band_pct=float(t.band_pct[j]),
    )


def _dropped(v: np.ndarray) -> dict[str, int]:
    return {
        Violation(b).name.lower(): int(((v >> b) & 1).sum())
        for b in range(len(Violation))
        if ((v >> b) & 1).any()
    }


def _binding(r: int, j: int, ev: Evaluated, pr: Priorities) -> list[str]:
    """Constraints that dropped candidates better than the chosen on the first priority."""
    first = _OBJ[pr.order[0]]
    vals = getattr(ev, first)[r]
    better = (-vals if first == "accuracy" else vals) < (
        (-vals[j]) if first == "accuracy" else vals[j]
    )
    out = []
    for bit in Violation:
        n = int((better & ((ev.violations[r] >> bit) & 1).astype(bool)).sum())
        if n:
            out.append(
                f"{Violation(bit).name.lower()}: {n} candidates better on {pr.order[0]} violate it"
            )
    return out


def _what_if(
    r: int,
    j: int,
    cam: Camera,
    w: Workload,
    t: Template,
    ev: Evaluated,
    inputs: PlanInputs,
    ca: CameraArrays,
) -> list[str]:
    out = []
    v = ev.violations[r]
    chosen_tco = ev.tco[r, j] if j >= 0 else np.inf
    cloud = np.nonzero(t.pattern == Pattern.CLOUD)[0]
    if len(cloud):
        k = cloud[np.argmin(ev.tco[r, cloud])]
        only_latency = v[k] == (1 << Violation.LATENCY)
        if only_latency and t.region[k] >= 0:
            rtt = ca.rtt_p99[r, t.region[k]]
            need = w.latency_budget_ms - (ev.latency[r, k] - rtt)
            opt = inputs.fleet.cloud[t.cloud_opt[k]].id
            cheaper = ev.tco[r, k] < chosen_tco
            if need > 0:
                out.append(
                    f"if uplink RTT p99 < {need:.0f} ms (now {rtt:.0f} ms), cloud on {opt} would "
                    f"meet the {w.latency_budget_ms:g} ms budget"
                    + (" and cost less" if cheaper else "")
                )
            else:
                out.append(
                    f"cloud on {opt} cannot meet {w.latency_budget_ms:g} ms even at 0 ms RTT"
                )
        if v[k] == (1 << Violation.PRIVACY) and ev.tco[r, k] < chosen_tco:
            out.append(
                f"if the privacy rule allowed video egress, cloud would save "
                f"${(chosen_tco - ev.tco[r, k]) / (inputs.fleet.horizon_years * 12):.2f}/month"
            )
        if v[k] == 0 and j >= 0 and ev.tco[r, k] > chosen_tco and ev.parts["cloud"][r, k].any():
            c_part = ev.parts["cloud"][r, k] * inputs.fleet.horizon_years * 12
            cut = (ev.tco[r, k] - chosen_tco) / max(c_part, 1e-9)
            if cut < 1:
                out.append(f"if cloud compute were {cut:.0%} cheaper, cloud would cost the same")
    acc_only = np.nonzero(v == (1 << Violation.ACCURACY))[0]
    if len(acc_only):
        k = acc_only[np.argmin(ev.tco[r, acc_only])]
        if ev.tco[r, k] < chosen_tco:
            out.append(
                f"if the accuracy floor were {ev.accuracy[r, k]:.3f} (now {w.accuracy_floor:g}), "
                f"{Pattern(int(t.pattern[k])).label} with "
                f"{inputs.perf[max(t.edge[k], t.cloud[k])].model} would be cheaper"
            )
    return out


def explain(
    r: int,
    cam: Camera,
    wi: int,
    w: Workload,
    t: Template,
    ev: Evaluated,
    inputs: PlanInputs,
    j: int,
    runner: int,
    front: np.ndarray,
    pr: Priorities,
    ca: CameraArrays,
) -> Decision:
    n_front = int(front[r].sum())
    dropped = _dropped(ev.violations[r])
    if j < 0:
        best = int(np.argmin(np.bitwise_count(ev.violations[r].astype(np.uint64))))
        return Decision(
            camera=cam.id,
            site=cam.site,
            workload=wi,
            task=w.task,
            chosen=None,
            runner_up=option(t, ev, inputs, r, best),
            binding_constraints=[],
            what_would_change=_what_if(r, -1, cam, w, t, ev, inputs, ca),
            reasons=[
                "no candidate meets every constraint; closest one fails: "
                + "; ".join(reasons(int(ev.violations[r, best]), w.latency_percentile))
            ],
            candidates=t.n,
            frontier=0,
            dropped=dropped,
        )
    chosen = option(t, ev, inputs, r, j)
    why = [
        f"{chosen.pattern} on {chosen.hardware or chosen.cloud} with "
        f"{chosen.model or chosen.cloud_model}: "
        f"p{w.latency_percentile} {chosen.latency_ms_p99:.1f} ms (budget {w.latency_budget_ms:g}), "
        f"accuracy {chosen.accuracy if chosen.accuracy is not None else 'unknown'} "
        f"(floor {w.accuracy_floor:g}), ${chosen.usd_per_month:.2f}/month, {chosen.power_w:.1f} W",
        f"picked from {n_front} Pareto-optimal of {t.n} candidates by "
        + (f"weights {pr.weights}" if pr.weights else f"priority order {', '.join(pr.order)}")
        + (" after preferring the most available patterns (reliability)" if pr.reliability else ""),
    ]
    if chosen.pattern == "hybrid":
        why.append(
            f"escalates {chosen.escalation_rate:.1%} of frames to {chosen.cloud}; accuracy "
            f"from {chosen.sources['accuracy']}"
        )
    if chosen.latency_band_pct:
        why.append(f"latency is projected (+-{chosen.latency_band_pct:.0f}%)")
    if w.privacy != "none":
        why.append(f"privacy {w.privacy}: patterns sending streams off site were excluded")
    return Decision(
        camera=cam.id,
        site=cam.site,
        workload=wi,
        task=w.task,
        chosen=chosen,
        runner_up=option(t, ev, inputs, r, runner) if runner >= 0 and runner != j else None,
        reasons=why,
        binding_constraints=_binding(r, j, ev, pr),
        what_would_change=_what_if(r, j, cam, w, t, ev, inputs, ca),
        candidates=t.n,
        frontier=n_front,
        dropped=dropped,
    )
