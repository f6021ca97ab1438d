"""Variants: a model produced by a chain of passes, with lineage, cached by content hash of
(parent bytes, pass, config). The parent's card is written beside each variant."""

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edgeplan.models.files import ModelFile, open_model
from edgeplan.sizing.passes import Pass, PassInputs, PassResult, chain_ok
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
                (f"max-drop {cfg[k]}" if k == "max_drop" else str(cfg[k]))
                for k in ("method", "activation", "height_px", "output", "max_drop")
                if k in cfg
            )
            parts.append(f"{step['pass']}({detail})" if detail else step["pass"])
        return " > ".join(parts) or "original"


def variant_id(
    parent_sha: str,
    step: Pass,
    calibration_sha: str | None = None,
    validation_sha: str | None = None,
) -> str:
    """Content key of one step: parent bytes, pass, config and, for passes that calibrate, the
    calibration data (a variant calibrated on one dataset is never reused for another); for
    accuracy-aware passes, the labelled data that chose what stays in float too."""
    parts: list[Any] = [parent_sha, step.name, step.config()]
    if step.uses_calibration:
        parts.append(calibration_sha)
    if getattr(step, "uses_validation", False):
        parts.append(validation_sha)
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def load_card(path: Path, fallback: ModelCard) -> ModelCard:
    """The card written beside a cached step (older cache entries may lack one)."""
    if not path.is_file():
        return fallback
    return ModelCard.model_validate(yaml.safe_load(path.read_text()))


def original(model: ModelFile) -> Variant:
    return Variant(
        id=model.sha256[:20],
        path=model.path,
        format=model.format,
        parent_sha256=model.sha256,
        lineage=(),
    )


def _card_for(card: ModelCard, res: PassResult) -> ModelCard:
    """The parent's card with what a step changed: input size, input layout, output layout."""
    spec: dict[str, Any] = {}
    if res.input_hw is not None and res.input_hw != (card.input.height_px, card.input.width_px):
        spec = {"height_px": res.input_hw[0], "width_px": res.input_hw[1]}
    if res.layout is not None and res.layout != card.input.layout:
        spec["layout"] = res.layout
    update: dict[str, Any] = {"input": card.input.model_copy(update=spec)} if spec else {}
    if res.outputs_channels_last:
        update["outputs_channels_last"] = True
    return card.model_copy(update=update) if update else card


def is_cached(model: ModelFile, chain: list[Pass], cache: Path, inputs: PassInputs) -> bool:
    """Whether every step of `chain` is already built in `cache` (so `build` reuses them)."""
    cal_sha = inputs.calibration.sha256() if inputs.calibration is not None else None
    val_sha = inputs.validation.dataset_sha256 if inputs.validation is not None else None
    sha = model.sha256
    for step in chain:
        done = cache / variant_id(sha, step, cal_sha, val_sha) / "done.json"
        if not done.is_file():
            return False
        sha = open_model(done.parent / json.loads(done.read_text())["file"]).sha256
    return True


def build(
    model: ModelFile, card: ModelCard, chain: list[Pass], cache: Path, inputs: PassInputs
) -> Variant:
    """Apply `chain` to `model`, reusing any step already in the cache. Each step's folder holds
    the model, its card (the parent's, with the input size a step fixed) and `done.json`."""
    chain_ok(model.format, chain)
    current, lineage, notes, reused = model, [], [], True
    cal_sha = inputs.calibration.sha256() if inputs.calibration is not None else None
    val_sha = inputs.validation.dataset_sha256 if inputs.validation is not None else None
    for step in chain:
        vid = variant_id(current.sha256, step, cal_sha, val_sha)
        out_dir = cache / vid
        done = out_dir / "done.json"
        if done.exists():
            meta = json.loads(done.read_text())
        else:
            reused = False
            tmp = cache / f"{vid}.{os.getpid()}.tmp"  # workers sharing a cache never collide
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            res = step.apply(current, tmp, inputs)
            card = _card_for(card, res)
            (tmp / "model.card.yaml").write_text(yaml.safe_dump(card.model_dump(mode="json")))
            meta = {
                "file": res.path.name,
                "format": res.format,
                "notes": list(res.notes),
                "calibration_sha256": cal_sha if step.uses_calibration else None,
            }
            (tmp / "done.json").write_text(json.dumps(meta))
            if out_dir.exists() and not done.exists():  # a crashed run's leftovers
                shutil.rmtree(out_dir, ignore_errors=True)
            try:
                tmp.rename(out_dir)  # a step is either complete in the cache or absent
            except OSError:  # another worker finished the same step first: use theirs
                shutil.rmtree(tmp, ignore_errors=True)
                meta = json.loads(done.read_text())
        card = load_card(out_dir / "model.card.yaml", card)
        step_info: dict[str, Any] = {
            "pass": step.name,
            "config": step.config(),
            "parent": current.sha256,
        }
        if step.uses_calibration:
            step_info["calibration_sha256"] = cal_sha
        if getattr(step, "uses_validation", False):
            step_info["validation_sha256"] = val_sha
        lineage.append(step_info)
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
