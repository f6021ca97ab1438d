"""Re-plan: which decisions flipped since the previous plan, and the evidence that moved them."""

from pathlib import Path

from edgeplan.planning import PlanInputs
from edgeplan.planning.output import Change, Decision, Figure, Option, Plan


def plan_figures(inputs: PlanInputs) -> dict[str, Figure]:
    """`model@hardware` -> the figures the planner used, with their sources."""
    return {
        f"{p.model}@{p.hardware}": Figure(
            latency_ms_p99=round(p.latency_ms_p99, 3),
            latency_source=p.source,
            throughput_fps=round(p.throughput_fps, 3),
            accuracy=None if p.accuracy is None else round(p.accuracy, 4),
            accuracy_source=p.accuracy_source or p.source,
        )
        for p in inputs.perf
    }


def _key(o: Option) -> str:
    return f"{o.model or o.cloud_model}@{o.hardware or o.cloud}"


def label(o: Option | None) -> str:
    if o is None:
        return "no feasible option"
    model = Path(o.model or o.cloud_model or "").name
    where = o.hardware or o.cloud
    if o.hardware and o.cloud:
        where = f"{o.hardware} + {o.cloud}"
    return f"{o.pattern} on {where} with {model}" + (f" ({o.variant})" if o.variant else "")


def _same(a: Option | None, b: Option | None) -> bool:
    if a is None or b is None:
        return a is b
    fields = ("pattern", "hardware", "cloud", "model", "cloud_model")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def _shown(key: str) -> str:
    """`pkg:x/models/m.onnx@rpi5` -> `m.onnx on rpi5`."""
    model, _, where = key.rpartition("@")
    return f"{Path(model).name} on {where}"


def _moved(key: str, before: Figure | None, now: Figure | None) -> list[str]:
    key = _shown(key)
    if now is None:
        return [f"{key} is no longer a candidate"]
    if before is None:
        return [f"{key}: new evidence, p99 {now.latency_ms_p99:.1f} ms ({now.latency_source})"]
    out = []
    lat_moved = abs(now.latency_ms_p99 - before.latency_ms_p99) > 0.05 * before.latency_ms_p99
    if now.latency_source != before.latency_source or lat_moved:
        out.append(
            f"{key}: p99 {before.latency_ms_p99:.1f} ms ({before.latency_source}) -> "
            f"{now.latency_ms_p99:.1f} ms ({now.latency_source})"
        )
    if now.accuracy != before.accuracy or now.accuracy_source != before.accuracy_source:
        out.append(
            f"{key}: accuracy {before.accuracy} ({before.accuracy_source}) -> "
            f"{now.accuracy} ({now.accuracy_source})"
        )
    return out


def _why(prev: Decision, d: Decision, old: Plan, new: Plan) -> list[str]:
    because: list[str] = []
    for o in (prev.chosen, d.chosen):
        if o is not None:
            k = _key(o)
            because += _moved(k, old.evidence.get(k), new.evidence.get(k))
    if prev.chosen is not None:
        now = new.evidence.get(_key(prev.chosen))
        if now is not None and now.latency_ms_p99 > d.latency_budget_ms > 0:
            because.append(
                f"the previous choice's p99 {now.latency_ms_p99:.1f} ms ({now.latency_source}) "
                f"is above the {d.latency_budget_ms:g} ms budget"
            )
        if now is not None and now.accuracy is not None and now.accuracy < d.accuracy_floor:
            because.append(
                f"the previous choice's accuracy {now.accuracy:.3f} is below the floor "
                f"{d.accuracy_floor:g}"
            )
    return because or ["no figure of either option changed: the fleet, prices or candidates did"]


def diff(old: Plan, new: Plan) -> list[Change]:
    """Decisions that differ from `old`, each with the evidence that explains it."""
    before = {(d.camera, d.workload): d for d in old.decisions}
    out = []
    for d in new.decisions:
        prev = before.get((d.camera, d.workload))
        if prev is None or _same(prev.chosen, d.chosen):
            continue
        out.append(
            Change(
                camera=d.camera,
                workload=d.workload,
                before=label(prev.chosen),
                after=label(d.chosen),
                because=_why(prev, d, old, new),
            )
        )
    return out
