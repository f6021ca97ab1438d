"""Variants: a model produced by a chain of passes, with lineage, cached by content hash of
(parent bytes, pass, config). The parent's card is written beside each variant."""

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from edgeplan.models.files import ModelFile, open_model
from edgeplan.sizing.passes import Pass, chain_ok
from edgeplan.spec.modelcard import ModelCard


@dataclass(frozen=True)
class Variant:
    """A model file with where it came from."""

    id: str
    path: Path
    format: str
    parent_sha256: str
    lineage: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = field(default=())
    reused: bool = False

    @property
    def label(self) -> str:
        parts = []
        for step in self.lineage:
            cfg = step["config"]
            detail = ",".join(
                str(cfg[k]) for k in ("method", "activation", "height_px") if k in cfg
            )
            parts.append(f"{step['pass']}({detail})" if detail else step["pass"])
        return " > ".join(parts) or "original"


def variant_id(parent_sha: str, step: Pass) -> str:
    blob = json.dumps([parent_sha, step.name, step.config()], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def original(model: ModelFile) -> Variant:
    return Variant(
        id=model.sha256[:20],
        path=model.path,
        format=model.format,
        parent_sha256=model.sha256,
        lineage=(),
    )


def build(
    model: ModelFile,
    card: ModelCard,
    chain: list[Pass],
    cache: Path,
    calibration: list[dict[str, np.ndarray]],
) -> Variant:
    """Apply `chain` to `model`, reusing any step already in the cache."""
    chain_ok(model.format, chain)
    current, lineage, notes, reused = model, [], [], True
    for step in chain:
        vid = variant_id(current.sha256, step)
        out_dir = cache / vid
        done = out_dir / "done.json"
        if done.exists():
            meta = json.loads(done.read_text())
        else:
            reused = False
            tmp = cache / f"{vid}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            res = step.apply(current, tmp, calibration)
            (tmp / "model.card.yaml").write_text(yaml.safe_dump(card.model_dump(mode="json")))
            meta = {"file": res.path.name, "format": res.format, "notes": list(res.notes)}
            (tmp / "done.json").write_text(json.dumps(meta))
            shutil.rmtree(out_dir, ignore_errors=True)
            tmp.rename(out_dir)  # a step is either complete in the cache or absent
        lineage.append({"pass": step.name, "config": step.config(), "parent": current.sha256})
        notes += meta["notes"]
        current = open_model(out_dir / meta["file"])
    return Variant(
        id=current.sha256[:20],
        path=current.path,
        format=current.format,
        parent_sha256=model.sha256,
        lineage=tuple(lineage),
        notes=tuple(notes),
        reused=reused and bool(chain),
    )
