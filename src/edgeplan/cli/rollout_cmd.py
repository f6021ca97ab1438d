"""`edgeplan rollout OUT --pilot SITE`: the plan's sites in stages, gated on the pilot."""

from datetime import datetime
from pathlib import Path

import typer

from edgeplan.cli.output import console
from edgeplan.errors import ConfigError


def rollout(
    out: Path = typer.Argument(..., help="A plan's output directory (plan.json, sites/, k8s/)."),
    pilot: str = typer.Option(..., help="The site deployed first; its records gate the rest."),
    store: Path | None = typer.Option(None, help="Records store the pilot's records reach."),
    window_s: float = typer.Option(600.0, help="Production time the pilot's records must cover."),
    apply: str | None = typer.Option(
        None,
        help="Command that deploys one site, with {site}, {folder} (OUT/sites/SITE) and {k8s} "
        "(OUT/k8s/SITE.yaml); e.g. 'kubectl apply -f {k8s}'. Without it, each stage is listed "
        "for you to deploy.",
    ),
    wait_s: float = typer.Option(
        0.0, help="How long to wait for the pilot's records to pass before judging them."
    ),
    since: str | None = typer.Option(
        None,
        help="Count records from this UTC time (ISO 8601; default: when the pilot is applied).",
    ),
) -> None:
    """Deploy the pilot site, gate on its production records (`agent export-records`) meeting
    the plan's SLOs (p99 within each camera's budget, at most 5% of frames lost to overload,
    escalation near the planned rate) over --window-s, then deploy the other sites. A failed
    gate stops the rollout (exit 8) and says which camera missed what."""
    from edgeplan.pipeline.rollout import rollout as run
    from edgeplan.planning.output import Plan
    from edgeplan.records.store import default_store_path

    plan_file = out / "plan.json"
    if not plan_file.is_file():
        raise ConfigError(f"{out}: no plan.json (run `edgeplan plan ... --out {out}` first)")
    plan = Plan.model_validate_json(plan_file.read_text())
    since_unix = None
    if since is not None:
        try:
            since_unix = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise ConfigError(f"--since {since!r}: not an ISO 8601 time ({exc})") from exc
    log: list[str] = []
    try:
        run(
            plan,
            out,
            store or default_store_path(),
            pilot,
            window_s,
            apply,
            wait_s,
            since_unix,
            log,
        )
    finally:
        for line in log:
            console.print(line, highlight=False)
    console.print("rollout complete: every site applied", highlight=False)
