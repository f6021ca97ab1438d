"""Load YAML into strict pydantic models; errors name the YAML path and allowed values."""

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from edgeplan.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _yaml_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def validation_message(err: ValidationError, source: str) -> str:
    """One line per problem: `source: yaml.path: what is wrong (allowed values when known)`."""
    lines = []
    for e in err.errors():
        msg = e["msg"]
        ctx = e.get("ctx") or {}
        if "expected" in ctx:
            msg = f"{msg} (allowed: {ctx['expected']})"
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see `edgeplan schema`)"
        lines.append(f"{source}: {_yaml_path(tuple(e['loc']))}: {msg}; got {e.get('input')!r}")
    return "\n".join(lines)


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Read `path` as YAML and validate it as `model`, raising ConfigError with the YAML path."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, str(path))) from exc
