"""Accuracy metrics with bootstrap 95% intervals. Detection mAP is computed by pycocotools'
COCOeval (never a hand-rolled AP); its per-image matching is done once and the bootstrap only
re-accumulates resampled images."""

import contextlib
import copy
import io
from dataclasses import dataclass

import numpy as np

from edgeplan.data.samples import DetSample

# COCO keypoint sigmas (person, 17 keypoints) for OKS
COCO_SIGMAS = (
    np.array(
        [
            0.26,
            0.25,
            0.25,
            0.35,
            0.35,
            0.79,
            0.79,
            0.72,
            0.72,
            0.62,
            0.62,
            1.07,
            1.07,
            0.87,
            0.87,
            0.89,
            0.89,
        ]
    )
    / 10.0
)


@dataclass(frozen=True)
class MetricValue:
    """A metric with its bootstrap interval and sample count."""

    metric: str
    value: float
    ci95_low: float
    ci95_high: float
    samples: int


def bootstrap_mean(
    per_sample: np.ndarray, metric: str, n: int = 1000, seed: int = 0
) -> MetricValue:
    """Mean of per-sample scores with a percentile bootstrap interval (vectorised)."""
    x = np.asarray(per_sample, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (n, len(x)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return MetricValue(metric, float(x.mean()), float(lo), float(hi), len(x))


def topk_correct(scores_topk: list[list[int]], labels: list[int], k: int) -> np.ndarray:
    """1.0 where the label is among the first k predictions."""
    return np.array([lab in pred[:k] for pred, lab in zip(scores_topk, labels, strict=True)], float)


def _coco_objects(gts: list[DetSample], dets: dict[int, list[dict]]):
    from pycocotools.coco import COCO

    images, anns, aid = [], [], 1
    cats = set()
    for s in gts:
        images.append({"id": s.image_id, "width": s.width, "height": s.height})
        for b, c, crowd in zip(s.boxes_xyxy, s.labels, s.iscrowd, strict=True):
            w, h = float(b[2] - b[0]), float(b[3] - b[1])
            anns.append(
                {
                    "id": aid,
                    "image_id": s.image_id,
                    "category_id": int(c) + 1,
                    "bbox": [float(b[0]), float(b[1]), w, h],
                    "area": w * h,
                    "iscrowd": int(crowd),
                }
            )
            cats.add(int(c) + 1)
            aid += 1
    dt_list = []
    for img_id, ds in dets.items():
        for d in ds:
            x1, y1, x2, y2 = d["box_xyxy"]
            dt_list.append(
                {
                    "image_id": img_id,
                    "category_id": int(d["label"]) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(d["score"]),
                }
            )
            cats.add(int(d["label"]) + 1)
    gt = COCO()
    gt.dataset = {
        "images": images,
        "annotations": anns,
        "categories": [{"id": c} for c in sorted(cats)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes(dt_list) if dt_list else COCO()
    return gt, dt, bool(dt_list)


def coco_map(
    gts: list[DetSample], dets: dict[int, list[dict]], n_boot: int = 100, seed: int = 0
) -> tuple[MetricValue, MetricValue]:
    """(mAP@[.5:.95], mAP@.5) by COCOeval, with image-level bootstrap intervals."""
    from pycocotools.cocoeval import COCOeval

    gt, dt, any_dt = _coco_objects(gts, dets)
    n_img = len(gts)
    if not any_dt:
        zero = MetricValue("map50_95", 0.0, 0.0, 0.0, n_img)
        return zero, MetricValue("map50", 0.0, 0.0, 0.0, n_img)
    ev = COCOeval(gt, dt, "bbox")
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    full = (float(ev.stats[0]), float(ev.stats[1]))
    # bootstrap: resample images and re-accumulate the already-matched per-image results, for
    # area "all" and 100 detections only (what stats[0] and stats[1] report)
    k_n, a_n, i_n = len(ev.params.catIds), len(ev.params.areaRng), len(ev.params.imgIds)
    rng = np.random.default_rng(seed)
    boots = []
    all_area = [ev.evalImgs[k * a_n * i_n + i] for k in range(k_n) for i in range(i_n)]
    for _ in range(n_boot):
        pick = rng.integers(0, i_n, i_n)
        e = copy.copy(ev)
        e.params, e._paramsEval = copy.copy(ev.params), copy.copy(ev._paramsEval)
        for p in (e.params, e._paramsEval):
            p.imgIds, p.areaRng, p.areaRngLbl, p.maxDets = (
                list(range(i_n)),
                [p.areaRng[0]],
                ["all"],
                [100],
            )
        e.evalImgs = [all_area[k * i_n + i] for k in range(k_n) for i in pick]
        with contextlib.redirect_stdout(io.StringIO()):
            e.accumulate()
        prec = e.eval["precision"][:, :, :, 0, 0]  # iou x recall x cat
        valid = prec > -1
        m5095 = prec[valid].mean() if valid.any() else 0.0
        p50 = prec[0]
        m50 = p50[p50 > -1].mean() if (p50 > -1).any() else 0.0
        boots.append((m5095, m50))
    b = np.array(boots)
    lo, hi = np.percentile(b, [2.5, 97.5], axis=0)
    return (
        MetricValue("map50_95", full[0], float(lo[0]), float(hi[0]), n_img),
        MetricValue("map50", full[1], float(lo[1]), float(hi[1]), n_img),
    )


def miou(
    pred: np.ndarray, truth: np.ndarray, n_classes: int, ignore: int = 255
) -> tuple[float, dict[int, float]]:
    """Mean IoU over classes present in truth or prediction; per-class IoU."""
    m = truth != ignore
    p, t = pred[m].astype(np.int64), truth[m].astype(np.int64)
    conf = np.bincount(t * n_classes + p, minlength=n_classes**2).reshape(n_classes, n_classes)
    inter = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - inter
    present = union > 0
    ious = {int(c): float(inter[c] / union[c]) for c in np.nonzero(present)[0]}
    return float(np.mean(list(ious.values()))) if ious else 0.0, ious


def keypoint_errors(
    pred_xy: np.ndarray, ref_xy: np.ndarray, sigmas: np.ndarray = COCO_SIGMAS
) -> tuple[float, float]:
    """(mean Euclidean error in normalised image units, OKS) of one pose against a reference;
    the OKS scale is the reference keypoints' bounding-box area."""
    d2 = ((pred_xy - ref_xy) ** 2).sum(axis=1)
    span = ref_xy.max(0) - ref_xy.min(0)
    area = float(span[0] * span[1]) or 1e-6
    oks = float(np.mean(np.exp(-d2 / (2 * area * (2 * sigmas[: len(d2)]) ** 2))))
    return float(np.sqrt(d2).mean()), oks


def recall_precision(
    gts: list[DetSample], dets: dict[int, list[dict]], threshold: float, n_boot: int = 200
) -> tuple[MetricValue, MetricValue]:
    """Detection recall and precision at the serving score threshold (same class, IoU >= 0.5,
    greedy by score), pooled over images, with an image-bootstrap 95% interval."""
    from edgeplan.data.agreement import box_matches

    counts = np.zeros((len(gts), 3))
    for i, g in enumerate(gts):
        ref = [
            {"label": int(lab), "score": 1.0, "box_xyxy": list(map(float, box))}
            for box, lab, crowd in zip(g.boxes_xyxy, g.labels, g.iscrowd, strict=True)
            if not crowd
        ]
        pred = [d for d in dets.get(g.image_id, []) if d["score"] >= threshold]
        counts[i] = box_matches(pred, ref, 0.5)
    tp, npred, nref = counts.sum(axis=0)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(gts), (n_boot, len(gts)))
    boot = counts[idx].sum(axis=1)  # (n_boot, 3)
    out = []
    for name, num, den, col in (("recall", tp, nref, 2), ("precision", tp, npred, 1)):
        value = float(num / den) if den else 0.0
        ratios = boot[:, 0] / np.maximum(boot[:, col], 1e-12)
        lo, hi = np.percentile(ratios, [2.5, 97.5])
        out.append(MetricValue(f"{name}_at_serving", value, float(lo), float(hi), len(gts)))
    return out[0], out[1]
