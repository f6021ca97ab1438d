"""Rows measured on a device by its owner: few-shot calibration from the field.

HELP and MAPLE-Edge adapt a latency predictor to a new device from about ten measurements. Here
the measurements are characterisation records imported with `records import --device` (or
measured on a farm node offering the device): each becomes a calibration row of that device,
with its model file's static profile, so projections of *other* models on the device learn
from it. Its own metric key (`latency_ms_p50_edgeplan`) gives edgeplan's harness its own
overhead, so only the device's efficiency is shared with the published rows."""

from collections.abc import Iterable
from pathlib import Path

from edgeplan.catalogue.load import Catalogue, Published
from edgeplan.models.analysis import StaticAnalysis
from edgeplan.projection.profile import CostProfile, from_analysis
from edgeplan.records.types import CharacterisationRecord

FIELD_METRIC = "latency_ms_p50_edgeplan"
FieldRow = tuple[Published, CostProfile]


def compute_precision(a: StaticAnalysis) -> str:
    """int8 / fp16 / fp32 from the bytes each parameter takes in the file."""
    per_param = a.weight_bytes / a.params if a.params else 4.0
    return "int8" if per_param < 1.5 else "fp16" if per_param < 2.5 else "fp32"


def field_rows(records: Iterable[object], cat: Catalogue) -> tuple[list[FieldRow], list[str]]:
    """(row, profile) per record measured on a catalogue device whose model file is here; and
    a note for each record that could not be used, saying why."""
    from edgeplan.models.analysis import analyse
    from edgeplan.models.files import open_model

    rows: list[FieldRow] = []
    notes: list[str] = []
    analysed: dict[str, StaticAnalysis] = {}  # a model measured many times is analysed once
    for r in records:
        if not isinstance(r, CharacterisationRecord):  # a store query yields every record type
            continue
        if not r.device_id or r.device_id not in cat.hardware:
            notes.append(f"record {r.record_id}: device {r.device_id!r} is not in the catalogue")
            continue
        path = Path(r.model_path)
        if not path.exists():
            notes.append(f"record {r.record_id}: model file {path} is not here to analyse")
            continue
        try:
            a = analysed.get(r.model_sha256) or analyse(open_model(path))
        except Exception as exc:  # a corrupt or unreadable model: reported, not fatal
            notes.append(f"record {r.record_id}: {path} could not be analysed ({exc})")
            continue
        analysed[r.model_sha256] = a
        profile = from_analysis(path.name, a)
        if profile.gmacs <= 0:
            notes.append(f"record {r.record_id}: {path} has no MACs to calibrate on")
            continue
        row = Published(
            device_id=r.device_id,
            config=f"measured on the device (record {r.record_id}, {r.backend})",
            model_id=f"file:{r.model_sha256[:12]}",
            framework=r.backend,
            precision=compute_precision(a),
            batch="1",
            metric=FIELD_METRIC,
            value=r.latency_ms_p50,
            source=f"edgeplan record {r.record_id} ({r.provenance.source})",
        )
        rows.append((row, profile))
    return rows, notes
