"""`edgeplan plan FLEET.yaml --out DIR`: the main job."""

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from edgeplan.cli.progress import step_progress
from edgeplan.pipeline.run import run_plan

console = Console()


def plan(
    fleet: Path = typer.Argument(..., help="fleet.yaml (see `edgeplan schema fleet`)."),
    out: Path = typer.Option(Path("out/plan"), help="Output directory."),
    store: Path | None = typer.Option(None, help="Records store (default ~/.cache/edgeplan)."),
    quick: bool = typer.Option(False, "--quick", help="Short measurements; the report says so."),
    catalogue: Path | None = typer.Option(None, help="CSV adding or overriding catalogue rows."),
) -> None:
    """Validate the fleet, characterise and evaluate its models on this host (cached), project
    onto devices not owned, plan, and write plan.json, report.html, report.md and
    agents/<site>.yaml."""
    res = run_with_progress(fleet, out, store, quick, catalogue)
    show(res)


def run_with_progress(
    fleet: Path, out: Path, store: Path | None, quick: bool, catalogue: Path | None
) -> dict:
    with step_progress(console, "planning") as progress:
        return run_plan(fleet, out, store, quick, catalogue, progress)


def show(res: dict) -> None:
    p = res["plan"]
    t = Table(
        title=f"plan for {p.fleet}: ${p.summary.usd_per_month:.2f}/month, break-even month "
        f"{p.summary.break_even_month or '- (' + p.summary.break_even_note + ')'}"
    )
    for c in (
        "camera",
        "task",
        "pattern",
        "device / cloud",
        "model",
        "p99 ms",
        "accuracy",
        "$/month",
    ):
        t.add_column(c)
    for d in p.decisions:
        c = d.chosen
        if c is None:
            t.add_row(d.camera, d.task, "[red]none[/]", "", "", "", "", "")
            continue
        t.add_row(
            d.camera,
            d.task,
            c.pattern,
            c.hardware or c.cloud or "",
            Path(c.model or c.cloud_model or "").name,
            f"{c.latency_ms_p99:.1f}",
            f"{c.accuracy:.3f}" if c.accuracy is not None else "-",
            f"{c.usd_per_month:.2f}",
        )
    console.print(t)
    console.print(res["run"]["cache"])
    for line in res["run"]["cache_stats"]["lines"]:
        console.print(f"  [dim]{line}[/]")
    for k, path in res["paths"].items():
        console.print(f"{k:5s} {path}")
    console.print(f"report: [bold]{res['paths']['html']}[/] ({res['wall_s']:.0f} s)")
