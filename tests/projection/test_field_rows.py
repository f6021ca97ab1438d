"""Few-shot calibration from the field: records measured on a device (here: real
characterisation runs on this host, imported as measured on a Raspberry Pi 5) become rows of
that device, and projections of other models on it learn from them."""

import json
from pathlib import Path

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
    imported = []
    for m in ("fastestdet/FastestDet.onnx", "yunet/yunet_n_320_320.onnx"):
        rec = _measure(testdata / "models" / m, tmp_path, tmp_path / "host.sqlite")
        r = _cli("records", "import", str(rec), "--device", "rpi5", store=store)
        assert r.returncode == 0, r.stderr
        imported.append(json.loads(rec.read_text())["latency_ms_p50"])
    after, stdout = _project(target, tmp_path, store)
    assert "2 rows measured on devices (rpi5)" in stdout
    assert "and 2 measured on it" in after["calibration"]
    # this host (a server core) is faster than the Pi's published rows: the projection of a
    # third model moves toward what was measured, and stays on its scale
    assert after["latency_ms"] < before["latency_ms"]
    assert after["latency_ms"] < 20 * max(imported)
