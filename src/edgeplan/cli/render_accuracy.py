"""Rich tables for accuracy, agreement and cascade records."""

from pathlib import Path

from rich.table import Table

from edgeplan.records.accuracy import AccuracyRecord, CascadeRecord


def accuracy_table(r: AccuracyRecord) -> Table:
    what = (
        "agreement with " + str(r.reference_model_path) if r.figure == "agreement" else "accuracy"
    )
    t = Table(
        title=f"{Path(r.model_path).name} on {r.backend}: {what}\n"
        f"{r.dataset_name} ({r.dataset_format}, sha256 {r.dataset_sha256[:12]})"
    )
    for c in ("metric", "value", "95% CI", "samples"):
        t.add_column(c)
    for m in r.metrics:
        t.add_row(
            m.metric, f"{m.value:.4f}", f"{m.ci95_low:.4f} - {m.ci95_high:.4f}", str(m.samples)
        )
    t.caption = f"card: {r.card_source}; skipped {r.skipped}; source: {r.provenance.source}"
    return t


def cascade_table(r: CascadeRecord) -> Table:
    t = Table(
        title=f"cascade: edge {Path(r.model_path).name} -> cloud {Path(r.cloud_model_path).name}\n"
        f"edge {r.metric} {r.edge.value:.4f}, cloud {r.cloud.value:.4f} "
        f"on {r.samples} images of {r.dataset_name}"
    )
    for c in ("escalate when conf in", "escalation rate", f"cascade {r.metric}", "95% CI", "floor"):
        t.add_column(c)
    best = r.cheapest_band_meeting_floor
    for b in r.bands:
        mark = "" if b.meets_floor is None else ("yes" if b.meets_floor else "no")
        if best is not None and b == best:
            mark = "cheapest"
        t.add_row(
            f"[{b.band_low:.2f}, {b.band_high:.2f})",
            f"{b.escalation_rate:.1%}",
            f"{b.cascade.value:.4f}",
            f"{b.cascade.ci95_low:.3f} - {b.cascade.ci95_high:.3f}",
            mark,
        )
    if r.accuracy_floor is not None and best is None:
        t.caption = f"no band holds the floor {r.accuracy_floor}: the cloud model alone is below it"
    return t
