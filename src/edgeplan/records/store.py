"""SQLite (WAL) store of records, keyed by record id and indexed by cache key."""

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from edgeplan.errors import StoreError
from edgeplan.records.accuracy import (
    AccuracyRecord,
    CascadeRecord,
    ProductionRecord,
    ProjectionRecord,
)
from edgeplan.records.sizing import SizingRecord
from edgeplan.records.types import CharacterisationRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    model_path TEXT NOT NULL,
    backend TEXT NOT NULL,
    source TEXT NOT NULL,
    host_sha256 TEXT,
    created_utc TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_cache ON records(cache_key);
"""

_KINDS: dict[str, type[BaseModel]] = {
    "characterisation": CharacterisationRecord,
    "accuracy": AccuracyRecord,
    "cascade": CascadeRecord,
    "production": ProductionRecord,
    "projection": ProjectionRecord,
    "sizing": SizingRecord,
}
Record = (
    CharacterisationRecord
    | AccuracyRecord
    | CascadeRecord
    | ProductionRecord
    | ProjectionRecord
    | SizingRecord
)


def default_store_path() -> Path:
    """`$EDGEPLAN_STORE`, else `~/.cache/edgeplan/records.sqlite`."""
    env = os.environ.get("EDGEPLAN_STORE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "edgeplan" / "records.sqlite"


def parse_record(body: dict[str, Any]) -> Record:
    """Validate a record dict by its `kind`."""
    kind = body.get("kind")
    if kind not in _KINDS:
        raise StoreError(f"unknown record kind {kind!r}; known: {sorted(_KINDS)}")
    return _KINDS[kind].model_validate(body)  # type: ignore[return-value]


class RecordStore:
    """Records on disk. Each write is its own transaction; reads never see a half record."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open records store {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "RecordStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, record: Record) -> None:
        """Insert or replace a record."""
        prov = record.provenance
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    record.record_id,
                    record.kind,
                    record.cache_key,
                    record.model_sha256,
                    record.model_path,
                    record.backend,
                    prov.source,
                    prov.host.sha256 if prov.host else None,
                    prov.timestamp_utc,
                    record.model_dump_json(),
                ),
            )

    def get(self, record_id: str) -> Record:
        """The record whose id is `record_id` or starts with it (unique prefix)."""
        rows = self._db.execute(
            "SELECT body FROM records WHERE record_id LIKE ? LIMIT 2", (record_id + "%",)
        ).fetchall()
        if not rows:
            raise StoreError(f"no record {record_id!r} in {self.path}; see `edgeplan records list`")
        if len(rows) > 1:
            raise StoreError(f"record id prefix {record_id!r} is ambiguous; give more characters")
        return parse_record(json.loads(rows[0][0]))

    def find_cached(self, cache_key: str) -> Record | None:
        """The newest record with this cache key, if any."""
        row = self._db.execute(
            "SELECT body FROM records WHERE cache_key=? ORDER BY created_utc DESC LIMIT 1",
            (cache_key,),
        ).fetchone()
        return parse_record(json.loads(row[0])) if row else None

    def summaries(self) -> Iterator[dict[str, Any]]:
        """Summary rows, newest first."""
        cur = self._db.execute(
            "SELECT record_id, kind, model_path, backend, source, created_utc, body "
            "FROM records ORDER BY created_utc DESC"
        )
        for rid, kind, path, backend, source, created, body in cur:
            data = json.loads(body)
            yield {
                "record_id": rid,
                "kind": kind,
                "model_path": path,
                "backend": backend,
                "source": source,
                "created_utc": created,
                "latency_ms_p99": data.get("latency_ms_p99"),
                "throughput_fps": data.get("throughput_fps"),
                "metric": data.get("metric"),
                "value": data.get("value"),
            }

    def all(self) -> list[Record]:
        rows = self._db.execute("SELECT body FROM records ORDER BY created_utc").fetchall()
        return [parse_record(json.loads(r[0])) for r in rows]

    def of_kind(self, kind: str, source: str | None = None) -> list[Record]:
        """Records of one kind (and provenance source), oldest first."""
        q, args = "SELECT body FROM records WHERE kind=?", [kind]
        if source is not None:
            q += " AND source=?"
            args.append(source)
        rows = self._db.execute(q + " ORDER BY created_utc", args).fetchall()
        return [parse_record(json.loads(r[0])) for r in rows]
