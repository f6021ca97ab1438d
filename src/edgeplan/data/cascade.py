"""Cascade evaluation, the data behind the hybrid pattern: the edge model answers when confident
and escalates to the cloud model when its confidence falls in an uncertainty band. Per band:
escalation rate and the cascade's accuracy, so a plan can pick the cheapest band that holds the
accuracy floor."""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgeplan.backends import BackendOptions
from edgeplan.backends.predict import load_model
from edgeplan.data.evaluate import DETECTION_TASKS, MAX_DETS, EvalConfig, _metric
from edgeplan.data.metrics import bootstrap_mean, coco_map
from edgeplan.data.predict import frames
from edgeplan.data.readers import open_dataset
from edgeplan.errors import ConfigError, DataError
from edgeplan.records.accuracy import CascadeBand, CascadeRecord, Metric
from edgeplan.records.provenance import measured

CLASS_THRESHOLDS = np.round(np.linspace(0.0, 1.0, 21), 2)
DET_HIGHS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)


def _classification_bands(
    edge_top: list[list[dict]], cloud_top: list[list[dict]], labels: list[int], n_boot: int
) -> tuple[Metric, Metric, list[CascadeBand]]:
    conf = np.array([p[0]["score"] if p else 0.0 for p in edge_top])
    ok_edge = np.array(
        [bool(p) and p[0]["label"] == y for p, y in zip(edge_top, labels, strict=True)], float
    )
    ok_cloud = np.array(
        [bool(p) and p[0]["label"] == y for p, y in zip(cloud_top, labels, strict=True)], float
    )
    bands = []
    for t in CLASS_THRESHOLDS:
        esc = conf < t
        per = np.where(esc, ok_cloud, ok_edge)
        bands.append(
            CascadeBand(
                band_low=0.0,
                band_high=float(t),
                escalation_rate=float(esc.mean()),
                cascade=_metric(bootstrap_mean(per, "top1", n_boot)),
            )
        )
    return (
        _metric(bootstrap_mean(ok_edge, "top1", n_boot)),
        _metric(bootstrap_mean(ok_cloud, "top1", n_boot)),
        bands,
    )


def _detection_bands(
    gts: list, edge: dict, cloud: dict, low: float, n_boot: int
) -> tuple[Metric, Metric, list[CascadeBand]]:
    ids = [g.image_id for g in gts]
    bands = []
    for high in DET_HIGHS:
        esc = {i: any(low <= d["score"] < high for d in edge[i]) for i in ids}
        merged = {i: (cloud[i] if esc[i] else edge[i]) for i in ids}
        m = coco_map(gts, merged, n_boot=n_boot)[0]
        bands.append(
            CascadeBand(
                band_low=low,
                band_high=high,
                escalation_rate=float(np.mean(list(esc.values()))),
                cascade=_metric(m),
            )
        )
    return (
        _metric(coco_map(gts, edge, n_boot=n_boot)[0]),
        _metric(coco_map(gts, cloud, n_boot=n_boot)[0]),
        bands,
    )


def cascade_cache_key(
    edge_sha: str, cloud_sha: str, dataset_sha: str, limit: int | None, band_low: float = 0.3
) -> str:
    """Content hash of everything that changes a cascade's figures."""
    blob = json.dumps([edge_sha, cloud_sha, dataset_sha, limit, band_low])
    return hashlib.sha256(blob.encode()).hexdigest()


def evaluate_cascade(
    cfg: EvalConfig,
    cloud: Path,
    cloud_backend: str | None = None,
    accuracy_floor: float | None = None,
    band_low: float = 0.3,
    progress: Callable[[int | None], None] = lambda _n: None,
) -> CascadeRecord:
    """Run edge and cloud models on the same labelled data and sweep the uncertainty band."""
    ds = open_dataset(cfg.data, cfg.fmt, cfg.label_offset)
    over = {"score_threshold": cfg.score_threshold}
    edge = load_model(cfg.model, cfg.backend, cfg.options, cfg.card, over)
    cld = load_model(cloud, cloud_backend, cfg.options, None, over)
    if edge.card.task != cld.card.task:
        raise ConfigError(
            f"cascade needs one task: edge is {edge.card.task}, cloud {cld.card.task}"
        )
    progress(min(len(ds), cfg.limit) if cfg.limit else len(ds))
    n_boot = min(cfg.n_boot, 50)
    if edge.card.task == "classification":
        e_top, c_top, labels = [], [], []
        for sample, frame in frames(iter(ds), ds.report, cfg.limit):
            e_top.append(edge.predict(frame))
            c_top.append(cld.predict(frame))
            labels.append(sample.label)
            progress(None)
        e_m, c_m, bands = _classification_bands(e_top, c_top, labels, n_boot)
        metric = "top1"
    elif edge.card.task in DETECTION_TASKS:
        gts, e_det, c_det = [], {}, {}
        for sample, frame in frames(iter(ds), ds.report, cfg.limit):
            gts.append(sample)
            e_det[sample.image_id] = sorted(edge.predict(frame), key=lambda d: -d["score"])[
                :MAX_DETS
            ]
            c_det[sample.image_id] = sorted(cld.predict(frame), key=lambda d: -d["score"])[
                :MAX_DETS
            ]
            progress(None)
        e_m, c_m, bands = _detection_bands(gts, e_det, c_det, band_low, n_boot)
        metric = "map50_95"
    else:
        raise ConfigError(
            f"card.task {edge.card.task!r}: cascade handles classification and detection"
        )
    if not bands or e_m.samples == 0:
        raise DataError(f"{cfg.data}: nothing could be evaluated")
    if accuracy_floor is not None:
        bands = [
            b.model_copy(update={"meets_floor": b.cascade.value >= accuracy_floor}) for b in bands
        ]
    ok = [b for b in bands if b.meets_floor]
    cheapest = min(ok, key=lambda b: (b.escalation_rate, -b.cascade.value)) if ok else None
    key = cascade_cache_key(edge.file.sha256, cld.file.sha256, ds.sha256(), cfg.limit, band_low)
    prov = measured(
        backend=edge.backend,
        model_sha256=edge.file.sha256,
        model_path=str(edge.file.path),
        harness={"cloud_backend": cld.backend, "band_low": band_low, "limit": cfg.limit},
    )
    return CascadeRecord(
        record_id=hashlib.sha256(f"{key}{prov.timestamp_utc}".encode()).hexdigest()[:16],
        cache_key=key,
        model_sha256=edge.file.sha256,
        model_path=str(edge.file.path),
        backend=edge.backend,
        cloud_model_sha256=cld.file.sha256,
        cloud_model_path=str(cloud),
        metric=metric,
        edge=e_m,
        cloud=c_m,
        bands=tuple(bands),
        accuracy_floor=accuracy_floor,
        cheapest_band_meeting_floor=cheapest,
        dataset_name=ds.name,
        dataset_sha256=ds.sha256(),
        samples=e_m.samples,
        provenance=prov,
    )


__all__ = ["BackendOptions", "evaluate_cascade"]
