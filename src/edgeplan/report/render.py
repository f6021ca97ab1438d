"""plan.json, report.html (self-contained, offline) and report.md, from the plan and the typed
evidence behind it (site deployments are pipeline.deploy's)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import plotly.io as pio
from plotly.offline import get_plotlyjs

from edgeplan.planning.output import Plan
from edgeplan.records.accuracy import AccuracyRecord, CascadeRecord, ProjectionRecord
from edgeplan.records.types import CharacterisationRecord
from edgeplan.report import figures


@dataclass
class ReportEvidence:
    """What the report shows besides the plan: the records behind each model."""

    host: dict[str, list[CharacterisationRecord]] = field(default_factory=dict)
    accuracy: dict[str, AccuracyRecord] = field(default_factory=dict)
    made: dict[str, str] = field(default_factory=dict)  # accuracy key -> the variant's lineage
    projections: list[ProjectionRecord] = field(default_factory=list)
    cascades: list[tuple[str, str, CascadeRecord, tuple[float, float]]] = field(
        default_factory=list
    )  # (edge model, cloud model, record, band the plan uses)
    notes: list[str] = field(default_factory=list)


_TAGS = ("measured-on-device", "measured", "projected", "published", "agreement", "assumed")


def tag(source: str | None) -> str:
    s = (source or "none").lower()
    return next((t for t in _TAGS if s.startswith(t)), "none")


def short(ref: str | None) -> str:
    """A model reference as a person reads it: the file name."""
    return Path(ref).name if ref else ""


def grouped_decisions(plan: Plan) -> list[dict[str, Any]]:
    """Decisions with the same site, task and chosen option shown once, listing the cameras."""
    groups: dict[str, dict[str, Any]] = {}
    for d in plan.decisions:
        c = d.chosen
        key = "|".join([d.site, d.task, c.model_dump_json() if c else "none", *d.reasons[:1]])
        g = groups.setdefault(key, {"d": d, "cameras": []})
        g["cameras"].append(d.camera)
    return list(groups.values())


def _fig(fig: Any) -> str:
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False})


def finalist_rows(plan: Plan, evidence: ReportEvidence) -> list[dict[str, Any]]:
    """Chosen and runner-up models: measured boxes on this host, projected bands on devices."""
    wanted: set[tuple[str, str | None]] = set()
    for d in plan.decisions:
        for o in (d.chosen, d.runner_up):
            ref = (o.model or o.cloud_model) if o is not None else None
            if o is not None and ref:
                wanted.add((ref, o.hardware))
    rows = []
    for model, _ in sorted(wanted, key=str):
        for r in evidence.host.get(model, []):
            lat = next((s.latency for s in r.scenarios if s.scenario == "SingleStream"), None)
            if lat:
                rows.append(
                    {
                        "name": f"{short(model)}<br>{r.backend} (this host)",
                        "source": "measured",
                        "min": lat.latency_ms_min,
                        "p50": lat.latency_ms_p50,
                        "p90": lat.latency_ms_p90,
                        "p99": lat.latency_ms_p99,
                    }
                )
    for model, hw in sorted(wanted, key=str):
        for p in evidence.projections:
            if (
                short(p.model_path) == short(model)
                and p.device_id == hw
                and p.latency_ms_p50
                and p.latency_ms_low is not None
                and p.latency_ms_high is not None
            ):
                rows.append(
                    {
                        "name": f"{short(model)}<br>{hw} ({p.precision})",
                        "source": "projected",
                        "p50": p.latency_ms_p50,
                        "low": p.latency_ms_low,
                        "high": p.latency_ms_high,
                        "p99": p.latency_ms_p99,
                    }
                )
    return rows


def write_outputs(
    plan: Plan, evidence: ReportEvidence, out: Path, run: dict[str, Any]
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"plan": out / "plan.json", "html": out / "report.html", "md": out / "report.md"}
    paths["plan"].write_text(plan.model_dump_json(indent=2))
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("edgeplan.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    host_rows = [
        {
            "model": m,
            "backend": f"{r.backend} ({r.precision})",
            "id": r.record_id,
            "lat": f"{r.latency_ms_p50:.2f} / {r.latency_ms_p90:.2f} / {r.latency_ms_p99:.2f}",
            "fps": f"{r.throughput_fps:.1f} fps",
            "e2e": f"{r.stages['end_to_end'].latency_ms_p99:.2f} ms"
            if "end_to_end" in r.stages
            else "-",
            "cold": f"{r.load_ms:.0f} + {r.first_inference_ms:.0f} ms",
        }
        for m, recs in evidence.host.items()
        for r in recs
    ]
    acc_rows = [
        {
            "model": m,
            "figure": a.figure,
            "tag": "agreement" if a.figure == "agreement" else "measured",
            "metric": a.metric
            + (f" vs {Path(a.reference_model_path).name}" if a.reference_model_path else ""),
            "value": f"{a.value:.3f} ({a.ci95_low:.3f}-{a.ci95_high:.3f})",
            "samples": a.samples,
            "data": f"{a.dataset_name} ({a.dataset_sha256[:12]})",
            "made": evidence.made.get(m, "the model itself"),
        }
        for m, a in evidence.accuracy.items()
    ]
    html = env.get_template("report.html.j2").render(
        plan=plan,
        run=run,
        tag=tag,
        short=short,
        groups=grouped_decisions(plan),
        host_rows=host_rows,
        acc_rows=acc_rows,
        projections=evidence.projections,
        cascades=evidence.cascades,
        plotly_js=f"<script>{get_plotlyjs()}</script>",
        pareto_html=[_fig(figures.pareto(cs)) for cs in plan.candidate_sets],
        finalists_html=_fig(figures.finalists(finalist_rows(plan, evidence))),
        cumulative_html=_fig(figures.cumulative(plan)),
        tornado_html=_fig(figures.tornado(plan)),
    )
    paths["html"].write_text(html)
    paths["md"].write_text(markdown(plan, run))
    return paths


def markdown(plan: Plan, run: dict[str, Any]) -> str:
    s = plan.summary
    lines = [
        f"# edgeplan — {plan.fleet}",
        "",
        f"Generated {run['generated_utc']} on {run['host']}."
        + (" **Quick mode.**" if run["quick"] else ""),
        "",
        f"- fleet cost: **${s.usd_per_month:.2f}/month**, TCO ${s.tco_usd:,.0f} over "
        f"{s.horizon_years:g} years",
        f"- break-even of all-edge vs all-cloud: month {s.break_even_month or 'never'}",
        "- patterns: " + ", ".join(f"{k} x {v}" for k, v in s.by_pattern.items()),
        f"- {run['cache']}",
        "",
        "| camera | site | task | pattern | device | model | p99 ms | accuracy | $/month "
        "| margin | source |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in plan.decisions:
        c = d.chosen
        if c is None:
            empty = "| " * 6
            lines.append(f"| {d.camera} | {d.site} | {d.task} | none {empty}| {d.reasons[0]} |")
            continue
        src = c.sources.get("edge latency") or c.sources.get("cloud inference", "")
        acc = f"{c.accuracy:.3f}" if c.accuracy is not None else "-"
        model = short(c.model or c.cloud_model) + (f" as {c.variant}" if c.variant else "")
        margin = f"{d.margin_pct:+.0f}% {d.margin_on}" if d.margin_pct is not None else "-"
        margin += ", stable" if d.stable else ", could flip"
        lines.append(
            f"| {d.camera} | {d.site} | {d.task} | {c.pattern} | {c.hardware or c.cloud} | "
            f"{model} | {c.latency_ms_p99:.1f} | {acc} | {c.usd_per_month:.2f} | {margin} | "
            f"latency {src}, accuracy {c.sources.get('accuracy', '')} |"
        )
    lines += ["", "## Why", ""]
    for d in plan.decisions:
        lines.append(f"**{d.camera}** ({d.task}): " + "; ".join(d.reasons))
        for w in d.what_would_change:
            lines.append(f"  - would change: {w}")
        lines.append("")
    return "\n".join(lines) + "\n"
