"""Helpers shared by backend implementations."""

from importlib import import_module, metadata
from types import ModuleType

from edgeplan.backends.base import Capabilities
from edgeplan.errors import BackendUnavailable
from edgeplan.models.files import ModelFile


def try_import(module: str, dist: str) -> tuple[ModuleType | None, str]:
    """(module, version) or (None, reason)."""
    try:
        mod = import_module(module)
    except ImportError as exc:
        return None, f"cannot import {module} ({exc})"
    try:
        return mod, metadata.version(dist)
    except metadata.PackageNotFoundError:
        return mod, getattr(mod, "__version__", "unknown")


def check_format(name: str, caps: Capabilities, model: ModelFile) -> None:
    if model.format not in caps.formats:
        raise BackendUnavailable(
            f"backend {name!r} cannot take {model.format} models ({model.path.name}); it takes "
            f"{sorted(caps.formats)}"
        )
