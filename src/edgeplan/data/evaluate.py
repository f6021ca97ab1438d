"""`edgeplan evaluate`: accuracy against labels, or agreement with a reference model."""

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

import edgeplan
from edgeplan.backends import BackendOptions
from edgeplan.backends.predict import LoadedModel, Predictor, load_model
from edgeplan.data import agreement as agr
from edgeplan.data import conditions
from edgeplan.data.metrics import (
    MetricValue,
    bootstrap_mean,
    coco_map,
    recall_precision,
    topk_correct,
)
from edgeplan.data.predict import frames
from edgeplan.data.readers import CocoJson, Dataset, YoloTxt, open_dataset
from edgeplan.errors import ConfigError, DataError
from edgeplan.records.accuracy import AccuracyRecord, Metric
from edgeplan.records.provenance import host_fingerprint, measured

DETECTION_TASKS = ("detection", "face-detection")
MAX_DETS = 100  # COCO's maxDets
EVAL_VERSION = 2  # 2: detection also reports recall and precision at the serving threshold


@dataclass
class EvalConfig:
    """What to evaluate, on what, and how."""

    model: Path
    data: Path
    fmt: str = "auto"
    backend: str | None = None
    options: BackendOptions = field(default_factory=lambda: BackendOptions(threads=None))
    card: Path | None = None
    limit: int | None = None
    label_offset: int = 0
    score_threshold: float = 0.001  # the COCO-eval convention; the card's threshold is for serving
    n_boot: int = 200
    reference: Path | None = None
    reference_backend: str | None = None
    condition: str | None = None  # a deployment condition (data/conditions.py) on every image
    only: frozenset[Path] | None = None  # score only these images (accuracy-aware quantisation)


def _frames(ds: Dataset, cfg: EvalConfig) -> Iterator[tuple[Any, np.ndarray]]:
    """The dataset's frames, with the config's deployment condition applied to each."""
    apply = conditions.transform(cfg.condition) if cfg.condition else None
    only = cfg.only
    samples = iter(ds) if only is None else (s for s in ds if s.path in only)
    for sample, frame in frames(samples, ds.report, cfg.limit):
        yield sample, (apply(frame) if apply else frame)


def eval_cache_key(
    cfg: EvalConfig, model_sha: str, backend: str, dataset_sha: str, ref_sha: str | None
) -> str:
    """Content hash of everything that can change an accuracy figure."""
    blob = json.dumps(
        [
            EVAL_VERSION,
            model_sha,
            backend,
            dataset_sha,
            cfg.limit,
            cfg.score_threshold,
            ref_sha,
            cfg.condition,
            host_fingerprint().sha256,
            edgeplan.__version__,
        ]
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _metric(m: MetricValue) -> Metric:
    return Metric(
        metric=m.metric,
        value=m.value,
        ci95_low=m.ci95_low,
        ci95_high=m.ci95_high,
        samples=m.samples,
    )


def _classification(
    model: Predictor, ds: Dataset, cfg: EvalConfig, tick: Callable[[], None]
) -> list[MetricValue]:
    preds, labels = [], []
    for sample, frame in _frames(ds, cfg):
        if sample.label is None:
            raise DataError(f"{cfg.data}: unlabelled images; use --reference for agreement")
        preds.append([d["label"] for d in model.predict(frame)])
        labels.append(sample.label)
        tick()
    if not labels:
        raise DataError(f"{cfg.data}: no image could be evaluated")
    return [
        bootstrap_mean(topk_correct(preds, labels, 1), "top1", cfg.n_boot),
        bootstrap_mean(topk_correct(preds, labels, 5), "top5", cfg.n_boot),
    ]


def _detection(
    model: Predictor,
    ds: Dataset,
    cfg: EvalConfig,
    tick: Callable[[], None],
    serving_threshold: float = 0.5,
) -> list[MetricValue]:
    if not isinstance(ds, CocoJson | YoloTxt):
        raise DataError(f"{cfg.data}: detection needs boxes (COCO JSON or YOLO txt)")
    gts, dets = [], {}
    coco_ids = isinstance(ds, CocoJson)
    for sample, frame in _frames(ds, cfg):
        found = sorted(model.predict(frame), key=lambda d: -d["score"])[:MAX_DETS]
        gts.append(sample)
        dets[sample.image_id] = found
        tick()
    if not gts:
        raise DataError(f"{cfg.data}: no image could be evaluated")
    del coco_ids  # labels are contiguous 0..79 on both readers: the 80-vs-90 mapping is done
    maps = list(coco_map(gts, dets, n_boot=min(cfg.n_boot, 100)))
    return maps + list(recall_precision(gts, dets, serving_threshold, cfg.n_boot))


def _agreement(
    model: LoadedModel, ref: LoadedModel, ds: Dataset, cfg: EvalConfig, tick: Callable[[], None]
) -> list[MetricValue]:
    same, f1s = [], []
    detection = model.card.task in DETECTION_TASKS
    for _sample, frame in _frames(ds, cfg):
        a, b = model.predict(frame), ref.predict(frame)
        if detection:
            f1s.append(agr.f1(*agr.box_matches(a, b, 0.5)))
        else:
            same.append(float(bool(a and b) and a[0]["label"] == b[0]["label"]))
        tick()
    if detection:
        return [bootstrap_mean(np.array(f1s), "box_f1_iou50_agreement", cfg.n_boot)]
    return [bootstrap_mean(np.array(same), "top1_agreement", cfg.n_boot)]


def evaluate(
    cfg: EvalConfig, progress: Callable[[int | None], None] = lambda _n: None
) -> AccuracyRecord:
    """Run the evaluation; `progress(total)` once, then `progress(None)` per image."""
    ds = open_dataset(cfg.data, cfg.fmt, cfg.label_offset)
    model = load_model(cfg.model, cfg.backend, cfg.options, cfg.card)
    serving = model.card.score_threshold  # recall/precision are reported at this one
    model.card = model.card.model_copy(update={"score_threshold": cfg.score_threshold})
    total = min(len(ds), cfg.limit) if cfg.limit else len(ds)
    progress(total)

    def tick() -> None:
        progress(None)

    warnings = []
    if model.card.inferred:
        warnings.append("card inferred from the graph: preprocessing may not match training")
    ref = None
    if cfg.reference is not None:
        ref_over = {"score_threshold": model.card.score_threshold} if False else None
        ref = load_model(cfg.reference, cfg.reference_backend, cfg.options, None, ref_over)
        for m in (model, ref):
            m.card = m.card.model_copy(update={"score_threshold": 0.5})
        values = _agreement(model, ref, ds, cfg, tick)
        figure: Literal["accuracy", "agreement"] = "agreement"
    elif model.card.task == "classification":
        values, figure = _classification(model, ds, cfg, tick), "accuracy"
    elif model.card.task in DETECTION_TASKS:
        values, figure = _detection(model, ds, cfg, tick, serving), "accuracy"
    else:
        raise ConfigError(
            f"card.task {model.card.task!r}: `evaluate --data` handles "
            "classification and detection; see the task tests for pose/segmentation"
        )
    head = values[0]
    key = eval_cache_key(
        cfg, model.file.sha256, model.backend, ds.sha256(), ref.file.sha256 if ref else None
    )
    prov = measured(
        backend=model.backend,
        model_sha256=model.file.sha256,
        model_path=str(model.file.path),
        harness={
            "limit": cfg.limit,
            "score_threshold": cfg.score_threshold,
            "bootstrap": cfg.n_boot,
            "condition": (
                f"{cfg.condition}: {conditions.describe(cfg.condition)}" if cfg.condition else None
            ),
            "card": model.card.model_dump(mode="json"),
        },
        notes=tuple(warnings),
    )
    return AccuracyRecord(
        record_id=hashlib.sha256(f"{key}{prov.timestamp_utc}".encode()).hexdigest()[:16],
        cache_key=key,
        model_sha256=model.file.sha256,
        model_path=str(model.file.path),
        backend=model.backend,
        figure=figure,
        metric=head.metric,
        value=head.value,
        ci95_low=head.ci95_low,
        ci95_high=head.ci95_high,
        samples=head.samples,
        metrics=tuple(_metric(v) for v in values),
        dataset_name=ds.name,
        dataset_path=str(cfg.data),
        dataset_format=type(ds).__name__,
        dataset_sha256=ds.sha256(),
        reference_model_sha256=ref.file.sha256 if ref else None,
        reference_model_path=str(ref.file.path) if ref else None,
        condition=cfg.condition,
        skipped=ds.report.skipped,
        problems=tuple(ds.report.problems[:20]),
        card_source=model.card_source,
        warnings=tuple(warnings),
        provenance=prov,
    )


def score(predictor: Predictor, data: Path, images: frozenset[Path], fmt: str = "auto") -> float:
    """The task's head metric (top-1, or mAP@[.5:.95]) of a loaded predictor on the dataset's
    images in `images`, without an interval: what accuracy-aware quantisation compares between
    candidates, on images kept apart from the evaluation split."""
    ds = open_dataset(data, fmt)
    cfg = EvalConfig(model=Path(), data=data, fmt=fmt, n_boot=1, only=images)
    p = Predictor(
        predictor.session,
        predictor.card.model_copy(update={"score_threshold": cfg.score_threshold}),
    )
    if p.card.task == "classification":
        return _classification(p, ds, cfg, lambda: None)[0].value
    if p.card.task in DETECTION_TASKS:
        return _detection(p, ds, cfg, lambda: None)[0].value
    raise ConfigError(f"card.task {p.card.task!r}: no metric to score it on")


def record_summary(r: AccuracyRecord) -> dict[str, Any]:
    return {m.metric: round(m.value, 4) for m in r.metrics}
