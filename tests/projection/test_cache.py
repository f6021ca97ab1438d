"""The calibration cache: the same inputs are read back instead of refitted; a changed
catalogue, measured row or unreadable file is refitted; `off` writes nothing."""

import dataclasses
from pathlib import Path

import pytest

from edgeplan.catalogue.load import Catalogue, load_catalogue
from edgeplan.projection import cache
from edgeplan.projection.bands import Calibration

CAT = load_catalogue()


def _refuse(*_: object, **__: object) -> Calibration:
    raise AssertionError("refitted although the same inputs were calibrated before")


def test_same_inputs_are_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPLAN_CALIBRATION_CACHE", str(tmp_path))
    first = cache.cached_calibrate(CAT, validate=False)
    assert len(list(tmp_path.glob("*.pickle"))) == 1
    monkeypatch.setattr(cache, "calibrate", _refuse)
    again = cache.cached_calibrate(load_catalogue(), validate=False)  # a fresh, equal catalogue
    assert again.params.keys() == first.params.keys()
    for key, p in first.params.items():
        assert again.params[key].b_ms_per_gmac == p.b_ms_per_gmac


def _with_value(cat: Catalogue, i: int, value: float) -> Catalogue:
    rows = list(cat.published)
    rows[i] = dataclasses.replace(rows[i], value=value)
    return dataclasses.replace(cat, published=rows)


def test_a_changed_input_is_refitted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPLAN_CALIBRATION_CACHE", str(tmp_path))
    base = cache.calibration_key(CAT, True, ())
    i = next(i for i, r in enumerate(CAT.published) if r.value)
    changed = _with_value(CAT, i, (CAT.published[i].value or 1.0) * 1.5)
    assert cache.calibration_key(changed, True, ()) != base
    assert cache.calibration_key(CAT, False, ()) != base
    assert cache.calibration_key(CAT, True, ()) == base  # deterministic


def test_an_unreadable_file_is_refitted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPLAN_CALIBRATION_CACHE", str(tmp_path))
    path = tmp_path / f"{cache.calibration_key(CAT, False, ())}.pickle"
    path.write_bytes(b"not a pickle")
    cal = cache.cached_calibrate(CAT, validate=False)
    assert cal.params and path.stat().st_size > 100  # refitted and rewritten


def test_off_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPLAN_CALIBRATION_CACHE", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cached_calibrate(CAT, validate=False).params
    assert not list(tmp_path.rglob("*.pickle"))
