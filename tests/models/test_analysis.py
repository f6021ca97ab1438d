import csv
from pathlib import Path

import pytest

from edgeplan.errors import ModelError
from edgeplan.models import open_model
from edgeplan.models.analysis import analyse


def _reference(testdata: Path, model_id: str) -> dict[str, str]:
    rows = csv.DictReader((testdata.parent / "reference/models.csv").open())
    return next(r for r in rows if r["id"] == model_id)


def test_mobilenet_v2_macs_and_params_match_published(
    testdata: Path, mobilenet_tflite: Path
) -> None:
    """Our TFLite walk against torchvision/Hailo's published 0.301 GMACs and 3.50 M params."""
    ref = _reference(testdata, "mobilenet_v2_1.0_224")
    s = analyse(open_model(mobilenet_tflite))
    assert s.macs / 1e9 == pytest.approx(float(ref["gmacs"]), rel=0.02)
    assert s.params / 1e6 == pytest.approx(float(ref["params_m"]), rel=0.02)
    assert s.weight_bytes < s.params * 1.3  # uint8 weights (+ int32 biases), not float32
    assert s.by_op_type()["CONV_2D"]["macs"] > 0


def test_onnx_analysis_counts_conv_macs(fastestdet: Path) -> None:
    s = analyse(open_model(fastestdet))
    by = s.by_op_type()
    assert by["Conv"]["macs"] == s.macs > 50e6
    assert s.weight_bytes == pytest.approx(s.params * 4, rel=0.01)  # float32 initialisers
    assert s.activation_bytes > 0 and s.input_shapes == {"input.1": [1, 3, 352, 352]}


def test_dynamic_input_pinned_matches_fixed_model(testdata: Path) -> None:
    fixed = analyse(open_model(testdata / "models/yunet/yunet_n_320_320.onnx"))
    dynamic = analyse(open_model(testdata / "models/yunet/yunet_n_dynamic.onnx"), (320, 320))
    assert dynamic.macs == fixed.macs
    bigger = analyse(open_model(testdata / "models/yunet/yunet_n_dynamic.onnx"), (640, 640))
    assert bigger.macs == pytest.approx(4 * fixed.macs, rel=0.01)


def test_weights_listed_as_inputs_are_flagged(testdata: Path) -> None:
    s = analyse(open_model(testdata / "models/ultraface/version-RFB-320.onnx"))
    assert any("graph inputs" in n for n in s.notes)
    assert list(s.input_shapes) == ["input"]


def test_corrupt_onnx_is_a_model_error(tmp_path: Path, fastestdet: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(fastestdet.read_bytes()[:5000])
    with pytest.raises(ModelError):
        analyse(open_model(bad))
