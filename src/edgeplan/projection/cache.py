"""Calibrations kept on disk: every `plan`, `project` and `demo` run fits each device and
validates it model by model (hundreds of fits, tens of seconds), and the result only changes
when the catalogue, the rows measured on devices, or the fitting code does. A calibration is
stored under a key hashed from all three (and the numeric libraries' versions), so a stale one
is never read; an unreadable one is refitted."""

import dataclasses
import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from edgeplan.catalogue.load import Catalogue, Published
from edgeplan.projection.bands import Calibration
from edgeplan.projection.calibrate import calibrate
from edgeplan.projection.profile import CostProfile

# the code a calibration depends on: the device models and fits, and the catalogue's loader
_CODE = [Path(__file__).parent, Path(__file__).parent.parent / "catalogue"]
KEEP = 8  # calibrations kept (the newest): one per catalogue and code version in use


def cache_dir() -> Path | None:
    """`$EDGEPLAN_CALIBRATION_CACHE` (`off`: no cache), else `~/.cache/edgeplan/calibration`
    beside the records store."""
    env = os.environ.get("EDGEPLAN_CALIBRATION_CACHE")
    if env:
        return None if env.lower() in ("0", "off", "no", "false") else Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "edgeplan" / "calibration"


def calibration_key(
    cat: Catalogue, validate: bool, measured: Sequence[tuple[Published, CostProfile]]
) -> str:
    """A hash of what a calibration depends on: the catalogue, the measured rows, whether it
    is validated, the projection and catalogue code, and numpy's and scipy's versions."""
    h = hashlib.sha256()
    inputs = [dataclasses.asdict(cat), [[dataclasses.asdict(x) for x in m] for m in measured]]
    for part in (_canonical(inputs), str(validate), np.__version__, scipy.__version__):
        h.update(part.encode())
        h.update(b"\0")
    for src in sorted(p for d in _CODE for p in d.rglob("*.py")):
        h.update(f"{src.parent.name}/{src.name}".encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:32]


def _canonical(obj: Any) -> str:
    """JSON with sorted keys and sets (a model's kernel tags): the same inputs hash the same in
    every process, whatever its string hash seed."""

    def encode(x: Any) -> Any:
        return sorted(x) if isinstance(x, set | frozenset) else str(x)

    return json.dumps(obj, sort_keys=True, default=encode)


def cached_calibrate(
    cat: Catalogue,
    validate: bool = True,
    measured: Sequence[tuple[Published, CostProfile]] = (),
) -> Calibration:
    """`calibrate`, read from the cache when the same inputs were calibrated before, else
    computed and stored (atomically: a reader never sees half a file), dropping all but the
    newest KEEP."""
    where = cache_dir()
    if where is None:
        return calibrate(cat, validate, measured)
    path = where / f"{calibration_key(cat, validate, measured)}.pickle"
    try:
        with path.open("rb") as f:
            cal = pickle.load(f)
        if isinstance(cal, Calibration):
            return cal
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass  # absent or unreadable: refit
    cal = calibrate(cat, validate, measured)
    try:
        where.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=where, delete=False, suffix=".tmp") as tmp:
            pickle.dump(cal, tmp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp.name, path)
        for old in sorted(where.glob("*.pickle"), key=lambda p: p.stat().st_mtime)[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache only costs the refit next time
    return cal
