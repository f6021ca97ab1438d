"""`edgeplan schema`: the JSON Schema of fleet.yaml (or of plan.json)."""

import json

import typer

from edgeplan.planning.output import Plan
from edgeplan.spec.fleet import Fleet

SCHEMAS = {"fleet": Fleet, "plan": Plan}


def schema_json(which: str) -> str:
    return json.dumps(SCHEMAS[which].model_json_schema(), indent=2, sort_keys=True) + "\n"


def schema(
    which: str = typer.Argument("fleet", help="fleet (fleet.yaml) | plan (plan.json)"),
) -> None:
    """Print the JSON Schema of fleet.yaml or plan.json (generated from the code)."""
    if which not in SCHEMAS:
        from edgeplan.errors import ConfigError

        raise ConfigError(f"schema {which!r} is not known; allowed: {', '.join(SCHEMAS)}")
    typer.echo(schema_json(which), nl=False)
