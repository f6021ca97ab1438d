"""`edgeplan records list|show|export`."""

import json
from pathlib import Path

import typer
from rich.table import Table

from edgeplan.bench.characterise import record_json
from edgeplan.cli.output import console
from edgeplan.cli.render import summary_tables
from edgeplan.cli.render_accuracy import accuracy_table, cascade_table
from edgeplan.records.accuracy import AccuracyRecord, CascadeRecord
from edgeplan.records.store import RecordStore

app = typer.Typer(help="Inspect and export stored measurement records.", no_args_is_help=True)
STORE = typer.Option(None, help="Records store (default ~/.cache/edgeplan or $EDGEPLAN_STORE).")


def render_any(record: object) -> list[Table]:
    if isinstance(record, AccuracyRecord):
        return [accuracy_table(record)]
    if isinstance(record, CascadeRecord):
        return [cascade_table(record)]
    return summary_tables(record)  # type: ignore[arg-type]


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
    file: Path = typer.Argument(..., help="JSON written by `characterise --json` (or an export)."),
    device: str = typer.Option(..., help="Catalogue id of the device it was measured on."),
    store: Path | None = STORE,
) -> None:
    """Import records measured by `edgeplan characterise` on the device itself: they supersede
    projections for that device (`source: measured-on-device`)."""
    from edgeplan.catalogue import load_catalogue
    from edgeplan.errors import DataError
    from edgeplan.records.store import parse_record

    load_catalogue().device(device)  # a clear error for an unknown device id
    try:
        data = json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{file}: not a readable records JSON ({exc})") from exc
    items = data if isinstance(data, list) else [data]
    with RecordStore(store) as st:
        for item in items:
            rec = parse_record(item)
            if rec.kind != "characterisation":
                continue
            prov = rec.provenance.model_copy(update={"source": "measured-on-device"})
            st.put(rec.model_copy(update={"device_id": device, "provenance": prov}))
            console.print(f"imported {rec.record_id} as measured-on-device on {device}")
