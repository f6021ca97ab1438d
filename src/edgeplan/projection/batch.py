"""Batch projection of published-latency rows, and the validation report."""

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from edgeplan.catalogue.load import Catalogue, _published
from edgeplan.errors import DataError
from edgeplan.projection.bands import Calibration
from edgeplan.projection.device import to_metric
from edgeplan.projection.profile import from_facts
from edgeplan.projection.project import project
from edgeplan.projection.rows import metric_key, runtime, segment_key

GOAL_MDAPE_PCT = 25.0
REQUIRED = ("device_id", "model_id", "precision", "metric")


def project_published(
    in_csv: Path, out_csv: Path, cat: Catalogue, cal: Calibration
) -> tuple[int, int]:
    """Repeat IN's rows with `predicted` (in each row's metric unit), `band_pct`, `deployable`,
    `reason`; returns (rows, rows predicted)."""
    try:
        rows = list(csv.DictReader(in_csv.read_text().splitlines()))
    except OSError as exc:
        raise DataError(f"{in_csv}: cannot read ({exc})") from exc
    if not rows:
        raise DataError(f"{in_csv}: no rows")
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise DataError(f"{in_csv}: missing columns {missing}; needs {list(REQUIRED)}")
    fields = [*rows[0].keys(), "predicted", "band_pct", "deployable", "reason"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    done = 0
    for r in rows:
        pub = _published({**r, "value": r.get("value", "")})
        out = dict(r)
        device = pub.device_id
        if device not in cat.hardware:
            out.update(
                predicted="",
                band_pct="",
                deployable="no",
                reason=f"device {device!r} is not in the catalogue",
            )
        else:
            m = cat.models.get(pub.model_id)
            g = cal.estimated_gmacs.get(pub.model_id)
            prof = (
                from_facts(
                    m,
                    g if m and m.gmacs is None else None,
                    "GMACs estimated from its published latency on other devices"
                    if m and m.gmacs is None
                    else None,
                )
                if m
                else None
            )
            if prof is None:
                out.update(
                    predicted="",
                    band_pct="",
                    deployable="no",
                    reason=f"model {pub.model_id!r}: no MACs and no published figure to "
                    "estimate them from",
                )
            else:
                key = segment_key(pub, cat)
                pr = project(
                    prof,
                    key,
                    pub.precision or "int8",
                    cal,
                    cat,
                    metric_key(pub),
                    runtime=runtime(pub) if pub.framework else None,
                )
                value = to_metric(pr.latency_ms or 0.0, pub.metric)
                out.update(
                    predicted=f"{value:.4g}",
                    band_pct=f"{pr.band_pct:.0f}",
                    deployable="yes" if pr.deployable else "no",
                    reason=pr.reason,
                )
                done += 1
        w.writerow(out)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    out_csv.write_text(buf.getvalue())
    return len(rows), done


def validation_rows(cal: Calibration) -> list[dict[str, Any]]:
    """Leave-one-model-out MdAPE per device segment, the 80% band's coverage and median width
    (each band built without the model it judges), with a word on why a device misses."""
    out = []
    for dev in sorted(set(cal.lomo_ape) | set(cal.not_validated)):
        errs = cal.lomo_ape.get(dev, [])
        md = float(np.median(errs)) if errs else None
        cov, width, _ = cal.coverage(dev)
        models = {h.model for h in cal.held if h.segment == dev}
        why = ""
        if not errs:
            why = "one model only: nothing to leave out"
        elif md is not None and md > GOAL_MDAPE_PCT:
            why = (
                "few models to learn from"
                if len(models) < 5
                else "MACs explain its figures poorly (compiler, contexts, host "
                "post-processing, mixed configs)"
            )
        worst: dict[str, float] = {}
        for h in cal.held:
            if h.segment == dev and h.ape > 50:
                worst[h.model] = max(h.ape, worst.get(h.model, 0.0))
        ranked = sorted(worst, key=lambda m: -worst[m])
        if len(ranked) >= 3:  # name the worst, so a user knows which figures to distrust
            more = f" (+{len(ranked) - 3} more)" if len(ranked) > 3 else ""
            why = "; ".join(filter(None, [why, f"worst: {', '.join(ranked[:3])}{more}"]))
        out.append(
            {
                "device": dev,
                "predictions": len(errs),
                "models": len(models),
                "models_above_50_pct": len(ranked),
                "above_50": {m: round(worst[m], 1) for m in ranked},  # worst first, its worst APE
                "not_validated": cal.not_validated.get(dev, 0),
                "mdape_pct": round(md, 1) if md is not None else None,
                "coverage_80_pct": round(cov, 1) if errs else None,
                "median_band_pct": round(width, 1) if errs else None,
                "meets_goal": bool(errs) and md is not None and md <= GOAL_MDAPE_PCT,
                "why": why,
            }
        )
    return out


def overall_mdape(cal: Calibration) -> float:
    allv = [e for v in cal.lomo_ape.values() for e in v]
    return float(np.median(allv)) if allv else float("nan")


def anchored_json(cal: Calibration) -> dict[str, Any] | None:
    """The anchored projections' held-out figures (anchor.py): the model left out of the
    device only, its published figures on sibling chips kept. Beside each MdAPE, the device
    model's alone on the same figures."""
    if not cal.anchored:
        return None
    cov, width, n = cal.anchored_coverage()
    per_device = {}
    for dev in sorted({h.segment for h in cal.anchored}):
        rows = [h for h in cal.anchored if h.segment == dev]
        per_device[dev] = {
            "mdape_pct": round(float(np.median([h.ape for h in rows])), 1),
            "model_only_mdape_pct": round(float(np.median([h.plain_ape for h in rows])), 1),
            "n": len(rows),
            "models": len({h.model for h in rows}),
            "models_above_50_pct": len({h.model for h in rows if h.ape > 50}),
        }
    return {
        "mdape_pct": round(float(np.median([h.ape for h in cal.anchored])), 1),
        "model_only_mdape_pct": round(float(np.median([h.plain_ape for h in cal.anchored])), 1),
        "n": n,
        "coverage_80_pct": round(cov, 1),
        "median_band_pct": round(width, 1),
        "per_device": per_device,
    }


def validation_json(cal: Calibration) -> dict[str, Any]:
    """`project --validate --json`: {mdape_pct, n, coverage_80_pct, median_band_pct,
    coverage_80_farthest_tenth_pct, n_farthest_tenth,
    per_device: {DEVICE: {mdape_pct, n, coverage_80_pct, median_band_pct, models,
    models_above_50_pct, above_50: {MODEL: worst APE %}, ...}},
    anchored: {mdape_pct, model_only_mdape_pct, n, coverage_80_pct, median_band_pct,
    per_device: {...}}}."""
    rows = validation_rows(cal)
    cov, width, n = cal.coverage()
    far, n_far = cal.coverage_far()
    return {
        "mdape_pct": round(overall_mdape(cal), 1),
        "n": n,
        "coverage_80_pct": round(cov, 1),
        "median_band_pct": round(width, 1),
        # the same coverage over the figures whose models are the farthest tenth of their
        # device's (bands.Calibration.coverage_far)
        "coverage_80_farthest_tenth_pct": round(far, 1) if n_far else None,
        "n_farthest_tenth": n_far,
        "goal_mdape_pct": GOAL_MDAPE_PCT,
        "per_device": {
            r["device"]: {
                "mdape_pct": r["mdape_pct"],
                "n": r["predictions"],
                "models": r["models"],
                "models_above_50_pct": r["models_above_50_pct"],
                "above_50": r["above_50"],
                "coverage_80_pct": r["coverage_80_pct"],
                "median_band_pct": r["median_band_pct"],
                "not_validated": r["not_validated"],
            }
            for r in rows
        },
        "anchored": anchored_json(cal),
    }
