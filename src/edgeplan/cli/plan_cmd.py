"""`edgeplan plan FLEET.yaml --out DIR`: the main job."""

from pathlib import Path

import typer
from rich import box
from rich.table import Table

from edgeplan.cli.output import console, quiet_third_party
from edgeplan.cli.progress import step_progress
from edgeplan.errors import ConfigError
from edgeplan.pipeline.run import run_plan
from edgeplan.planning.output import Plan

EMIT = ("k8s",)


def plan(
    fleet: Path = typer.Argument(..., help="fleet.yaml (see `edgeplan schema fleet`)."),
    out: Path = typer.Option(Path("out/plan"), help="Output directory."),
    store: Path | None = typer.Option(None, help="Records store (default ~/.cache/edgeplan)."),
    quick: bool = typer.Option(False, "--quick", help="Short measurements; the report says so."),
    catalogue: Path | None = typer.Option(None, help="CSV adding or overriding catalogue rows."),
    previous: Path | None = typer.Option(
        None, help="A previous plan.json to compare with (default: OUT/plan.json if present)."
    ),
    sign_key: Path | None = typer.Option(
        None, help="Ed25519 private key: sign bundles of each site's models (keys generate)."
    ),
    emit: list[str] = typer.Option(
        [],
        help="Also write deployment manifests: k8s (OUT/k8s: per-site Deployments, "
        "ConfigMaps, volumes; KServe InferenceServices for the cloud tier; a Containerfile).",
    ),
) -> None:
    """Validate the fleet, gather evidence (records measured on devices and in production,
    cascades, this host's measurements, projections; cached), plan, say what changed since the
    previous plan, and write plan.json, report.html, report.md and sites/<site>/ (agent configs
    that `edgeplan agent run` takes as written, with their models)."""
    bad = [e for e in emit if e not in EMIT]
    if bad:
        raise ConfigError(f"--emit {bad[0]!r} is not allowed; allowed: {', '.join(EMIT)}")
    res = run_with_progress(
        fleet, out, store, quick, catalogue, previous=previous, sign_key=sign_key, emit=tuple(emit)
    )
    show(res)


def run_with_progress(
    fleet: Path,
    out: Path,
    store: Path | None,
    quick: bool,
    catalogue: Path | None,
    full_hint: str = "rerun without `--quick`",
    previous: Path | None = None,
    sign_key: Path | None = None,
    emit: tuple[str, ...] = (),
) -> dict:
    """The plan with a progress display; third-party output goes to `OUT/edgeplan.log`."""
    out.mkdir(parents=True, exist_ok=True)
    with (
        quiet_third_party(out / "edgeplan.log") as log,
        step_progress(console, "planning") as progress,
    ):
        res = run_plan(
            fleet, out, store, quick, catalogue, progress, full_hint, previous, sign_key, emit
        )
    return {**res, "log": log}


def _model_name(ref: str | None) -> str:
    return Path(ref or "").name or "-"


def decisions_table(p: Plan) -> Table:
    """One row per group of cameras with the same decision, readable at 80 columns: cameras over
    the task, then pattern and device over the model it runs (and the variant it deploys)."""
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    t.add_column("cameras / task", overflow="fold", max_width=24)
    t.add_column("pattern on device / model", overflow="fold", min_width=22)
    t.add_column("p99 ms", justify="right", no_wrap=True)
    t.add_column("acc.", justify="right", no_wrap=True)
    t.add_column("$/mo", justify="right", no_wrap=True)
    groups: dict[str, list] = {}
    for d in p.decisions:
        key = f"{d.site}|{d.task}|{d.chosen.model_dump_json() if d.chosen else 'none'}"
        groups.setdefault(key, []).append(d)
    for ds in groups.values():
        d, c = ds[0], ds[0].chosen
        who = f"{', '.join(x.camera for x in ds)}\n[dim]{d.task}[/]"
        if c is None:
            t.add_row(who, "[red]no feasible option[/]", "", "", "")
            continue
        model = _model_name(c.model or c.cloud_model)
        if c.variant:  # the passes, without their settings (the report has them)
            model += f" ({' > '.join(v.split('(')[0].strip() for v in c.variant.split('>'))})"
        t.add_row(
            who,
            f"{c.pattern} on {c.hardware or c.cloud}\n[dim]{model}[/]",
            f"{c.latency_ms_p99:.0f}",
            f"{c.accuracy:.2f}" if c.accuracy is not None else "-",
            f"{c.usd_per_month:.2f}" + (f"\n[dim]x{len(ds)}[/]" if len(ds) > 1 else ""),
        )
    return t


def show(res: dict) -> None:
    p = res["plan"]
    be = p.summary.break_even_month
    console.print(
        f"[bold]plan for {p.fleet}[/]: ${p.summary.usd_per_month:.2f}/month; break-even "
        + (f"month {be}" if be else f"none ({p.summary.break_even_note})"),
        highlight=False,
    )
    console.print(decisions_table(p))
    for c in p.changes:
        console.print(
            f"[bold yellow]changed[/] {c.camera}: {c.before} -> [bold]{c.after}[/]",
            highlight=False,
        )
        for b in c.because:
            console.print(f"  because {b}", highlight=False)
    for n in res["run"].get("notes", []):
        console.print(f"[yellow]note:[/] {n}", highlight=False)
    console.print(res["run"]["cache"], highlight=False)
    for line in res["run"]["cache_stats"]["lines"]:
        console.print(f"  [dim]{line}[/]", highlight=False)
    for k, path in res["paths"].items():
        console.print(f"{k:6s} {path}", highlight=False)
    for site in res.get("sites", []):
        agents = ", ".join(p.name for p in site.agents.values()) or "no agent"
        console.print(f"site   {site.folder} ({agents})", highlight=False)
    if res.get("log"):
        console.print(f"log    {res['log']} (third-party output)", highlight=False)
    console.print(
        f"report: [bold]{res['paths']['html']}[/] ({res['wall_s']:.0f} s)", highlight=False
    )
