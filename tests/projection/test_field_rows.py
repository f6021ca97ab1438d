"""Few-shot calibration from the field: records measured on a device (here: real
characterisation runs on this host, imported as measured on a Raspberry Pi 5) become rows of
that device, and projections of other models on it learn from them."""

import json
import math
from pathlib import Path

import numpy as np

from edgeplan.models.analysis import analyse
from edgeplan.models.files import open_model
from tests.projection.test_projection import _cli


def _measure(model: Path, tmp: Path, store: Path) -> Path:
    out = tmp / f"{model.stem}.json"
    r = _cli("characterise", str(model), "--backend", "onnxruntime", "--threads", "1",
             "--duration-s", "1", "--scenario", "SingleStream", "--json", str(out),
             store=store)  # fmt: skip
    assert r.returncode == 0, r.stderr + r.stdout
    return out


def _project(model: Path, tmp: Path, store: Path) -> tuple[dict, str]:
    out = tmp / "p.json"
    r = _cli("project", str(model), "--device", "rpi5", "--precision", "fp32",
             "--json", str(out), store=store)  # fmt: skip
    assert r.returncode == 0, r.stderr + r.stdout
    return json.loads(out.read_text())[0]["projection"], r.stdout


def test_records_measured_on_a_device_calibrate_it(testdata: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    target = testdata / "models/ultraface/version-RFB-320.onnx"
    before, _ = _project(target, tmp_path, store)
    assert "measured on it" not in before["calibration"]
    ms_per_gmac = []  # what was measured, per GMAC of each imported model
    for m in ("fastestdet/FastestDet.onnx", "yunet/yunet_n_320_320.onnx"):
        path = testdata / "models" / m
        rec = _measure(path, tmp_path, tmp_path / "host.sqlite")
        r = _cli("records", "import", str(rec), "--device", "rpi5", store=store)
        assert r.returncode == 0, r.stderr
        gmacs = analyse(open_model(path)).macs / 1e9
        ms_per_gmac.append(json.loads(rec.read_text())["latency_ms_p50"] / gmacs)
    after, stdout = _project(target, tmp_path, store)
    assert "2 rows measured on devices (rpi5)" in stdout
    assert "and 2 measured on it" in after["calibration"]
    # this host is not a Pi (faster or slower per MAC, with the load on it): the projection of
    # a third model moves toward what was measured, per MAC, and stays on its scale
    target_gmacs = analyse(open_model(target)).macs / 1e9
    field = math.log(float(np.median(ms_per_gmac)) * target_gmacs)
    gap = [abs(math.log(p["latency_ms"]) - field) for p in (before, after)]
    assert gap[1] < gap[0] + 0.02
    assert abs(math.log(after["latency_ms"] / before["latency_ms"])) > 1e-3  # it moved
    assert gap[1] < math.log(20)


def test_unusable_records_are_named_and_skipped(tmp_path: Path, fastestdet: Path) -> None:
    """A corrupt model file, a missing one and an unknown device: each record is named with
    why, the good one is used, and nothing raises."""
    from edgeplan.catalogue import load_catalogue
    from edgeplan.projection.field import field_rows
    from tests.records.sample import sample_record

    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x01garbage, not a protobuf")
    good = sample_record("good", "k1").model_copy(
        update={"device_id": "rpi5", "model_path": str(fastestdet)}
    )
    bad = [
        sample_record("corrupt", "k2").model_copy(
            update={"device_id": "rpi5", "model_path": str(corrupt), "model_sha256": "1" * 64}
        ),
        sample_record("gone", "k3").model_copy(
            update={"device_id": "rpi5", "model_path": str(tmp_path / "gone.onnx")}
        ),
        sample_record("elsewhere", "k4").model_copy(
            update={"device_id": "my-lab-box", "model_path": str(fastestdet)}
        ),
    ]
    rows, notes = field_rows([good, *bad, "not a record"], load_catalogue())
    assert [r.device_id for r, _ in rows] == ["rpi5"] and rows[0][1].gmacs > 0
    assert len(notes) == 3
    assert "record corrupt" in notes[0] and "could not be analysed" in notes[0]
    assert "record gone" in notes[1] and "not here" in notes[1]
    assert "record elsewhere" in notes[2] and "not in the catalogue" in notes[2]
