"""`edgeplan records list|show|export`."""

import json
from pathlib import Path

import typer
from rich.table import Table

from edgeplan.bench.characterise import record_json
from edgeplan.cli.output import console
from edgeplan.cli.render import summary_tables
from edgeplan.cli.render_accuracy import accuracy_table, cascade_table
from edgeplan.errors import StoreError
from edgeplan.records.accuracy import AccuracyRecord, CascadeRecord
from edgeplan.records.sizing import SizingRecord, describe_lineage
from edgeplan.records.store import Record, RecordStore
from edgeplan.records.types import CharacterisationRecord

app = typer.Typer(help="Inspect and export stored measurement records.", no_args_is_help=True)
STORE = typer.Option(None, help="Records store (default ~/.cache/edgeplan or $EDGEPLAN_STORE).")


def render_any(record: Record) -> list[Table]:
    if isinstance(record, AccuracyRecord):
        return [accuracy_table(record)]
    if isinstance(record, CascadeRecord):
        return [cascade_table(record)]
    if isinstance(record, CharacterisationRecord):
        return summary_tables(record)
    if isinstance(record, SizingRecord):
        return [sizing_table(record)]
    t = Table(title=f"{record.kind} record {record.record_id} ({record.provenance.source})")
    t.add_column("field")
    t.add_column("value", overflow="fold")
    for k, v in record.model_dump(mode="json").items():
        if k not in ("provenance", "kind", "record_id", "cache_key"):
            t.add_row(k, json.dumps(v) if isinstance(v, dict | list) else str(v))
    return [t]


def sizing_table(r: SizingRecord) -> Table:
    """Every variant with how it was made: each pass, its configuration, its parent and the
    calibration data it used (sha256 prefixes)."""
    t = Table(
        title=f"sizing of {Path(r.model_path).name} (target p99 {r.latency_ms_p99_target:g} ms, "
        f"floor {r.accuracy_floor:g}); chosen: {r.chosen or 'none'}",
        caption=f"{r.dataset_path}: {r.eval_images} evaluated, {r.calibration_images} "
        "calibration images",
    )
    for c in ("variant", "backend", "p99 ms", "accuracy", "accepted", "how it was made"):
        t.add_column(c, overflow="fold")
    for v in r.variants:
        t.add_row(
            v.label,
            v.backend,
            f"{v.latency_ms_p99:.2f}" if v.latency_ms_p99 is not None else "-",
            f"{v.accuracy:.3f}" if v.accuracy is not None else "-",
            "yes" if v.accepted else f"no: {v.reason}",
            describe_lineage(v.lineage),
        )
    return t


@app.command("list")
def list_records(store: Path | None = STORE) -> None:
    """One line per record, newest first."""
    with RecordStore(store) as st:
        rows = list(st.summaries())
        path = st.path
    t = Table(title=f"records in {path}")
    for c in (
        "id",
        "kind",
        "model",
        "backend",
        "source",
        "p99 ms",
        "fps",
        "accuracy",
        "created (UTC)",
    ):
        t.add_column(c, no_wrap=c in ("id", "created (UTC)"))
    for r in rows:
        t.add_row(
            r["record_id"],
            r["kind"],
            Path(r["model_path"]).name,
            r["backend"],
            r["source"],
            f"{r['latency_ms_p99']:.2f}" if r["latency_ms_p99"] is not None else "-",
            f"{r['throughput_fps']:.1f}" if r["throughput_fps"] is not None else "-",
            f"{r['metric']} {r['value']:.3f}" if r.get("value") is not None else "-",
            r["created_utc"][:16].replace("T", " "),
        )
    console.print(t)


@app.command()
def show(
    record_id: str = typer.Argument(..., help="Record id or a unique prefix."),
    store: Path | None = STORE,
) -> None:
    """Summary tables of one record."""
    with RecordStore(store) as st:
        record = st.get(record_id)
    for table in render_any(record):
        console.print(table)


@app.command()
def export(
    out: Path = typer.Argument(..., help="JSON file to write (a list of records)."),
    store: Path | None = STORE,
) -> None:
    """Write every record as JSON."""
    with RecordStore(store) as st:
        records = st.all()
    out.write_text(
        json.dumps(
            [
                record_json(r) if r.kind == "characterisation" else r.model_dump(mode="json")
                for r in records
            ],
            indent=2,
        )
    )
    console.print(f"wrote {len(records)} records to {out}")


@app.command("import")
def import_records(
    file: Path = typer.Argument(
        ...,
        help="JSON written by `characterise --json`, `agent "
        "export-records --json` or `records export`.",
    ),
    device: str | None = typer.Option(
        None,
        help="Catalogue id of the device the records were measured on: characterisation "
        "records become `measured-on-device`, production records are tagged with it.",
    ),
    store: Path | None = STORE,
) -> None:
    """Import records into the store. With --device, a characterisation measured on the device
    itself supersedes projections for that device; production records (`agent export-records`)
    already name their device and outrank projections too."""
    from edgeplan.catalogue import load_catalogue
    from edgeplan.errors import DataError
    from edgeplan.records.store import parse_record

    if device is not None:
        load_catalogue().device(device)  # a clear error for an unknown device id
    try:
        data = json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{file}: not a readable records JSON ({exc})") from exc
    items = data if isinstance(data, list) else [data]
    with RecordStore(store) as st:
        for n, item in enumerate(items):
            try:
                rec = parse_record(item)
            except (ValueError, StoreError) as exc:
                first = str(exc).splitlines()[0]
                raise DataError(f"{file}: item {n}: not a record ({first})") from exc
            if device is not None and rec.kind == "characterisation":
                prov = rec.provenance.model_copy(update={"source": "measured-on-device"})
                rec = rec.model_copy(update={"device_id": device, "provenance": prov})
            elif device is not None and rec.kind == "production":
                rec = rec.model_copy(update={"device_id": device})
            st.put(rec)
            on = f" on {getattr(rec, 'device_id', None)}" if getattr(rec, "device_id", None) else ""
            console.print(
                f"imported {rec.kind} {rec.record_id} as {rec.provenance.source}{on}",
                highlight=False,
            )
