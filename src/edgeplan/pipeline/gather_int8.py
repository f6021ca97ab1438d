"""The int8 variant plan deploys on int8-only devices: built on the calibration tail, evaluated
on the rest, judged under the workload's declared deployment conditions, and described (how it
was made) for the report."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edgeplan.data.conditions import condition_misses
from edgeplan.errors import EdgeplanError
from edgeplan.models.files import open_model
from edgeplan.pipeline.evidence import Accuracy, Evidence, Int8Variant
from edgeplan.pipeline.measure import accuracy, int8_variant
from edgeplan.progress import Progress
from edgeplan.records.accuracy import AccuracyRecord
from edgeplan.records.sizing import describe_lineage
from edgeplan.records.store import RecordStore


def accuracy_of(rec: AccuracyRecord, what: str = "") -> Accuracy:
    kind = "agreement" if rec.figure == "agreement" else "measured"
    of = f" of its {what} variant" if what else ""
    by = {m.metric: m.value for m in rec.metrics} if rec.figure == "accuracy" else {}
    return Accuracy(
        rec.value,
        f"{kind}: {rec.metric}{of} on {rec.dataset_name} (n={rec.samples})",
        by.get("recall_at_serving"),
        by.get("precision_at_serving"),
    )


@dataclass(frozen=True)
class Held:
    """What an int8 variant must hold: the workload's floor, and under each declared condition
    no more loss against its fp32 parent than the floor allows on clean images."""

    floor: float
    parent_clean: float
    parent_under: dict[str, float]
    conditions: tuple[str, ...]


def accuracy_under(
    path: Path,
    data: Path,
    reference: Path | None,
    conditions: Sequence[str],
    store: RecordStore,
    quick: bool,
    ev: Evidence,
    progress: Progress,
    card: Path | None = None,
    name: str | None = None,
) -> dict[str, float]:
    """Accuracy under each declared deployment condition (each a cached record)."""
    return {
        c: accuracy(
            path, data, reference, store, quick, ev.stats, progress, card, name, condition=c
        ).value
        for c in conditions
    }


def shown(under: dict[str, float]) -> str:
    return ", ".join(f"{c} {v:.3f}" for c, v in under.items())


def gather_int8(
    m: str,
    path: Path,
    data: Path,
    reference: Path | None,
    store: RecordStore,
    cache: Path,
    quick: bool,
    ev: Evidence,
    progress: Progress,
    held: Held | None = None,
) -> None:
    """Build and evaluate the int8 variant of an ONNX model; a failure is a note, not a crash.
    A variant that loses more under a declared condition than the floor allows is not
    deployed: its accuracy is unknown, with the reason."""
    if m in ev.int8:
        return
    try:
        built = int8_variant(path, data, cache, progress)
    except (EdgeplanError, RuntimeError, ValueError) as exc:
        ev.notes.append(f"{m}: int8 variant failed ({exc}); int8-only devices keep no accuracy")
        return
    if built is None:
        return
    vpath, label = built.path, built.label
    card = vpath.parent / "model.card.yaml"
    rec = accuracy(
        vpath,
        data,
        reference,
        store,
        quick,
        ev.stats,
        progress,
        card=card,
        name=f"{path.name} as {label}",
    )
    ev.accuracy_records[f"{m} [{label}]"] = rec
    ev.made[f"{m} [{label}]"] = describe_lineage(built.lineage)
    acc = accuracy_of(rec, label)
    if held is not None and held.conditions:
        name = f"{path.name} as {label}"
        under = accuracy_under(
            vpath, data, reference, held.conditions, store, quick, ev, progress, card, name
        )
        misses = condition_misses(held.floor, held.parent_clean, held.parent_under, under)
        ev.notes.append(f"{name} under {shown(under)} (clean {rec.value:.3f})")
        if misses:
            why = f"{label} variant rejected: {'; '.join(misses)}"
            ev.notes.append(f"{m}: {why}; int8-only devices keep no accuracy")
            acc = Accuracy(None, why)
    ev.int8[m] = Int8Variant(m, vpath, label, open_model(vpath).sha256, acc)
