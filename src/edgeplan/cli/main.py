"""`edgeplan` console entry point: maps EdgeplanError to exit codes, without a traceback."""

import logging
import sys
from pathlib import Path

import typer

from edgeplan.cli import (
    agent_cmd,
    bundle_cmd,
    characterise_cmd,
    cloud_cmd,
    evaluate_cmd,
    farm_cmd,
    optimise_cmd,
    plan_cmd,
    project_cmd,
    records_cmd,
    rollout_cmd,
    schema_cmd,
)
from edgeplan.cli.output import err_console as err
from edgeplan.errors import EdgeplanError

app_typer = typer.Typer(
    name="edgeplan",
    help="Decide where CV inference runs, size the model, prove it with measurements.",
    no_args_is_help=True,
    add_completion=False,
)
app_typer.command("characterise")(characterise_cmd.characterise)
app_typer.command("evaluate")(evaluate_cmd.evaluate)
app_typer.command("schema")(schema_cmd.schema)
app_typer.command("project")(project_cmd.project)
app_typer.command("plan")(plan_cmd.plan)
app_typer.command("optimise")(optimise_cmd.optimise)
app_typer.command("rollout")(rollout_cmd.rollout)
app_typer.add_typer(records_cmd.app, name="records")
app_typer.add_typer(agent_cmd.app, name="agent")
app_typer.add_typer(cloud_cmd.app, name="cloud")
app_typer.add_typer(bundle_cmd.app, name="bundle")
app_typer.add_typer(bundle_cmd.keys_app, name="keys")
app_typer.add_typer(farm_cmd.app, name="farm")


@app_typer.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), help="Output directory."),
    full: bool = typer.Option(False, "--full", help="Full-length measurements (slower)."),
) -> None:
    """Plan the embedded example fleet: real models from PyPI packages, data edgeplan makes."""
    from edgeplan.cli.demo_cmd import run_demo

    run_demo(out, quick=not full)


def app() -> None:
    """Run the CLI; an EdgeplanError prints its message and exits with its code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app_typer(standalone_mode=False)
    except EdgeplanError as exc:
        # one line, however long: the terminal wraps it, and grep and logs see it whole
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        code = getattr(exc, "exit_code", None)
        if code is None:
            raise
        if hasattr(exc, "show"):
            exc.show()
        sys.exit(code)
