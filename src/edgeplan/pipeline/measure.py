"""Measurements for the plan, cached by content hash in the records store."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from edgeplan.backends import BackendOptions, available_backends, get_backend
from edgeplan.bench.characterise import CharacteriseConfig, cache_key, characterise
from edgeplan.data.evaluate import EvalConfig, eval_cache_key, evaluate
from edgeplan.data.readers import open_dataset
from edgeplan.models.files import open_model
from edgeplan.progress import Progress, prefixed
from edgeplan.records.accuracy import AccuracyRecord, CascadeRecord
from edgeplan.records.store import RecordStore
from edgeplan.records.types import CharacterisationRecord
from edgeplan.sizing.calibration import eval_limit

if TYPE_CHECKING:
    from edgeplan.sizing.variants import Variant


@dataclass
class CacheStats:
    """What was measured now and what was reused, with the time the reuse saved."""

    measured: int = 0
    reused: int = 0
    measured_s: float = 0.0
    saved_s: float = 0.0
    lines: list[str] = field(default_factory=list)


R = TypeVar("R", CharacterisationRecord, AccuracyRecord, CascadeRecord)


def cached_or_measure(
    store: RecordStore,
    key: str,
    kind: type[R],
    stats: CacheStats,
    what: str,
    measure: Callable[[], R],
    progress: Progress,
) -> R:
    """The stored record with this cache key, or a fresh measurement stored with its wall time
    (so a later reuse can say how much time it saved)."""
    rec = store.find_cached(key)
    if isinstance(rec, kind):
        saved = float(rec.provenance.harness.get("wall_s", 0.0))
        stats.reused += 1
        stats.saved_s += saved
        stats.lines.append(f"reused {what} (record {rec.record_id}, saved {saved:.0f} s)")
        return rec
    progress(f"measuring {what}")
    t0 = time.perf_counter()
    rec = measure()
    wall = time.perf_counter() - t0
    harness = {**rec.provenance.harness, "wall_s": wall}
    rec = rec.model_copy(
        update={"provenance": rec.provenance.model_copy(update={"harness": harness})}
    )
    store.put(rec)
    stats.measured += 1
    stats.measured_s += wall
    return rec


def _backends_for(path: Path) -> list[str]:
    fmt = open_model(path).format
    have = available_backends()
    names: list[str] = ["onnxruntime", "openvino", "litert"]
    return [n for n in names if n in have and fmt in get_backend(n).capabilities.formats][:2]


def host_records(
    path: Path,
    store: RecordStore,
    quick: bool,
    threads: int | None,
    stats: CacheStats,
    progress: Progress,
) -> list[CharacterisationRecord]:
    """Characterise a model on every installed backend that takes it (cached)."""
    out = []
    model = open_model(path)
    for backend in _backends_for(path):
        cfg = CharacteriseConfig(
            model=path,
            backend=backend,
            options=BackendOptions(threads=threads),
            duration_s=2.0 if quick else 8.0,
            min_queries=16 if quick else 64,
            stage_frames=50 if quick else 200,
            profile_runs=5 if quick else 20,
        )
        key = cache_key(model.sha256, backend, cfg.options, cfg)
        report = prefixed(progress, f"{path.name} on {backend}: ")
        out.append(
            cached_or_measure(
                store,
                key,
                CharacterisationRecord,
                stats,
                f"{path.name} on {backend}",
                partial(characterise, cfg, report),
                progress,
            )
        )
    return out


def accuracy(
    path: Path,
    data: Path,
    reference: Path | None,
    store: RecordStore,
    quick: bool,
    stats: CacheStats,
    progress: Progress,
    card: Path | None = None,
    name: str | None = None,
    condition: str | None = None,
) -> AccuracyRecord:
    """Accuracy (or agreement with `reference`) on `data`, under a deployment `condition` when
    one is given, cached. The calibration tail (sizing.calibration) is kept out of the
    evaluation split: int8 variants calibrate on it."""
    ds = open_dataset(data)
    cfg = EvalConfig(
        model=path,
        data=data,
        limit=eval_limit(len(ds), quick),
        n_boot=100,
        reference=reference,
        card=card,
        condition=condition,
    )
    backend = _backends_for(path)[0]
    key = eval_cache_key(
        cfg,
        open_model(path).sha256,
        backend,
        ds.sha256(),
        open_model(reference).sha256 if reference else None,
    )
    cfg.backend = backend
    return cached_or_measure(
        store,
        key,
        AccuracyRecord,
        stats,
        f"accuracy of {name or path.name} on {data.name}"
        + (f" under {condition}" if condition else ""),
        partial(evaluate, cfg),
        progress,
    )


def int8_variant(path: Path, data: Path, cache: Path, progress: Progress) -> "Variant | None":
    """A calibrated int8 variant (onnxruntime static QDQ, Percentile, uint8 activations) built on
    the calibration tail of `data` (streamed), with its card beside it; None when the model is not
    ONNX or the data is too small to keep calibration apart from evaluation."""
    from edgeplan.backends.predict import load_model
    from edgeplan.sizing.calibration import calibration_set
    from edgeplan.sizing.passes import Int8Static, PassInputs
    from edgeplan.sizing.variants import build, is_cached

    mf = open_model(path)
    if mf.format != "onnx":
        return None
    parent = load_model(path)
    card, name = parent.card, parent.session.input_names[0]
    del parent  # the session is not needed while the variant is built
    cal = calibration_set([s.path for s in open_dataset(data)], card.input, name)
    if cal is None:
        return None
    step, inputs = Int8Static(method="Percentile", activation="uint8"), PassInputs(cal, progress)
    if is_cached(mf, [step], cache / "variants", inputs):
        progress(f"reusing the int8 variant of {path.name} (same model, calibration images)")
    else:
        progress(f"building an int8 variant of {path.name} (calibration: last {len(cal)} images)")
    return build(mf, card, [step], cache / "variants", inputs)
