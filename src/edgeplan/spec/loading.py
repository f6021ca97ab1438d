"""Load YAML into strict pydantic models; errors name the file, the YAML path and the allowed
values, one short line per problem (never a dump of the whole document)."""

import difflib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from edgeplan.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
# the `edgeplan schema NAME` that documents each top-level model
SCHEMA_NAMES = {"Fleet": "fleet", "AgentConfig": "agent", "ModelCard": "card", "Plan": "plan"}
MAX_INPUT_CHARS = 60


def _yaml_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (X, X | None, list[X], dict[str, X])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names allowed at `loc` (the location of a mapping) in `model`; [] when unknown."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part)
        if info is None:  # a dict key (e.g. a region id) or a union tag: stay on the value type
            continue
        current = _inner_model(info.annotation)
    return list(current.model_fields) if current is not None else []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_INPUT_CHARS else text[: MAX_INPUT_CHARS - 3] + "..."


def validation_message(
    err: ValidationError, source: str, model: type[BaseModel] | None = None
) -> str:
    """One line per problem: `source: yaml.path: what is wrong (allowed values when known)`."""
    schema = SCHEMA_NAMES.get(model.__name__, "") if model is not None else ""
    see = f"`edgeplan schema {schema}`" if schema else "the documentation"
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        msg = e["msg"]
        ctx = e.get("ctx") or {}
        if "expected" in ctx:
            msg = f"{msg} (allowed: {ctx['expected']})"
        if e["type"] == "extra_forbidden":
            allowed = fields_at(model, loc[:-1]) if model is not None else []
            near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            listed = f"allowed here: {', '.join(allowed)}; " if allowed and not near else ""
            lines.append(f"{source}: {_yaml_path(loc)}: unknown field; {hint}{listed}see {see}")
            continue
        if e["type"] == "missing":
            lines.append(f"{source}: {_yaml_path(loc)}: required field is missing")
            continue
        lines.append(f"{source}: {_yaml_path(loc)}: {msg}; got {_short(e.get('input'))}")
    return "\n".join(lines)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; errors name the file, line and column."""
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f)  # the stream's name goes into YAML's error marks
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path}: is a directory, not a YAML file") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file ({exc.reason})") from exc


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Read `path` as YAML and validate it as `model`, raising ConfigError with the YAML path."""
    raw = read_yaml(path)
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping of fields at the top, got {type(raw).__name__}"
        )
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, str(path), model)) from exc
