"""`edgeplan schema`: the JSON Schema of fleet.yaml, an agent config, a model card or plan.json."""

import json

import typer
from pydantic import BaseModel

from edgeplan.planning.output import Plan
from edgeplan.spec.agent import AgentConfig
from edgeplan.spec.fleet import Fleet
from edgeplan.spec.modelcard import ModelCard

SCHEMAS: dict[str, type[BaseModel]] = {
    "fleet": Fleet,
    "agent": AgentConfig,
    "card": ModelCard,
    "plan": Plan,
}


def schema_json(which: str) -> str:
    return json.dumps(SCHEMAS[which].model_json_schema(), indent=2, sort_keys=True) + "\n"


def schema(
    which: str = typer.Argument(
        "fleet",
        help="fleet (fleet.yaml) | agent (`edgeplan agent run` config) | card (model card) | "
        "plan (plan.json)",
    ),
) -> None:
    """Print the JSON Schema of fleet.yaml, an agent config, a model card or plan.json
    (generated from the code; the committed copies are under schemas/)."""
    if which not in SCHEMAS:
        from edgeplan.errors import ConfigError

        raise ConfigError(f"schema {which!r} is not known; allowed: {', '.join(SCHEMAS)}")
    typer.echo(schema_json(which), nl=False)
