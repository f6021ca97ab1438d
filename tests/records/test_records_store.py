import json
import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from edgeplan.errors import StoreError
from edgeplan.records import host_fingerprint
from edgeplan.records.store import RecordStore
from edgeplan.records.types import CharacterisationRecord

from .sample import sample_record


def test_fingerprint_describes_this_host() -> None:
    h = host_fingerprint()
    assert h.logical_cores >= 1 and h.ram_mib > 0 and h.cpu_model
    assert len(h.sha256) == 64 and h.sha256 == host_fingerprint().sha256


def test_records_are_frozen() -> None:
    r = sample_record()
    with pytest.raises(ValidationError):
        r.latency_ms_p50 = 1.0  # type: ignore[misc]


def test_unknown_fields_are_refused() -> None:
    data = sample_record().model_dump()
    data["latency"] = 3  # a bare name without unit must not sneak in
    with pytest.raises(ValidationError):
        CharacterisationRecord.model_validate(data)


def test_store_roundtrip_prefix_and_cache(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    a, b = sample_record("aaaa1111", "key-a"), sample_record("bbbb2222", "key-b")
    with RecordStore(path) as st:
        st.put(a)
        st.put(b)
        assert st.get("aaaa") == a
        assert st.find_cached("key-b") == b and st.find_cached("nope") is None
        assert {r["record_id"] for r in st.summaries()} == {"aaaa1111", "bbbb2222"}
    with RecordStore(path) as st:  # survives reopening
        assert len(st.all()) == 2
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_store_errors_are_clear(tmp_path: Path) -> None:
    with RecordStore(tmp_path / "s.sqlite") as st:
        with pytest.raises(StoreError, match="records list"):
            st.get("missing")
        st.put(sample_record("abc1", "k1"))
        st.put(sample_record("abc2", "k2"))
        with pytest.raises(StoreError, match="ambiguous"):
            st.get("abc")


def test_default_store_path_follows_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPLAN_STORE", str(tmp_path / "x.sqlite"))
    with RecordStore() as st:
        st.put(sample_record())
    assert (tmp_path / "x.sqlite").exists()
    assert json.loads(sample_record().model_dump_json())["provenance"]["source"] == "measured"
