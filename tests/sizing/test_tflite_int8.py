"""Full-integer int8 TFLite from ONNX with the workload's calibration images (onnx2tf in its own
environment): int8 in and out, runs on litert from the card's float preprocessing, keeps
FastestDet's accuracy within a stated margin, says what the Edge TPU would leave to the CPU."""

import os
from pathlib import Path

import numpy as np
import pytest

from edgeplan.backends.predict import load_model
from edgeplan.data.evaluate import EvalConfig, evaluate
from edgeplan.data.readers import open_dataset
from edgeplan.errors import ConfigError, ModelError
from edgeplan.models import open_model
from edgeplan.sizing.calibration import CalibrationSet
from edgeplan.sizing.passes import PassInputs, TfliteInt8
from edgeplan.sizing.tflite_pass import CONVERTER_ENV, output_layout
from edgeplan.sizing.variants import build

CONVERTER = os.environ.get(CONVERTER_ENV, "")
needs_converter = pytest.mark.skipif(
    not (CONVERTER and Path(CONVERTER).is_file()),
    reason=f"onnx2tf not installed: `make tflite-tools` and {CONVERTER_ENV} (make test sets it)",
)


@needs_converter
def test_fastestdet_full_integer_tflite_keeps_accuracy(testdata: Path, tmp_path: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    model = testdata / "models/fastestdet/FastestDet.onnx"
    data = testdata / "datasets/coco128/val2017_yolo"
    lm = load_model(model)
    paths = [s.path for s in open_dataset(data)]
    cal = CalibrationSet(tuple(paths[-24:]), lm.card.input, lm.session.input_names[0])
    v = build(open_model(model), lm.card, [TfliteInt8()], tmp_path, PassInputs(cal))
    assert v.format == "tflite" and v.lineage[0]["calibration_sha256"] == cal.sha256()
    it = Interpreter(model_path=str(v.path))
    assert [np.dtype(d["dtype"]).name for d in it.get_input_details()] == ["int8"]
    assert {np.dtype(d["dtype"]).name for d in it.get_output_details()} == {"int8"}
    card = v.path.parent / "model.card.yaml"
    text = card.read_text()
    assert "layout: NHWC" in text and "outputs_channels_last: true" in text
    assert any("Edge TPU" in n for n in v.notes)

    def acc(path: Path, backend: str, card_file: Path | None) -> float:
        cfg = EvalConfig(model=path, data=data, backend=backend, card=card_file, limit=48, n_boot=5)
        return evaluate(cfg).value

    fp32 = acc(model, "onnxruntime", None)
    int8 = acc(v.path, "litert", card)
    assert fp32 > 0.1 and int8 > fp32 - 0.05, (fp32, int8)


def test_a_missing_converter_is_refused_with_what_to_install(
    testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONVERTER_ENV, str(tmp_path / "no-such-onnx2tf"))
    model = open_model(testdata / "models/fastestdet/FastestDet.onnx")
    with pytest.raises(ConfigError, match="pip install tensorflow-cpu"):
        TfliteInt8().apply(model, tmp_path, PassInputs())


def test_output_layout_is_matched_or_refused() -> None:
    assert output_layout([[1, 85, 22, 22]], [[1, 85, 22, 22]]) is False
    assert output_layout([[1, 85, 22, 22], [1, 10]], [[1, 22, 22, 85], [1, 10]]) is True
    assert output_layout([[1, 84, 8400]], [[1, 8400, 84]]) is True
    assert output_layout([[0, 1000]], [[1, 1000]]) is False  # a dynamic batch matches
    assert output_layout([[0, 1, 0, 0]], [[1, 640, 640, 1]]) is True
    with pytest.raises(ModelError, match="decoder would misread"):
        output_layout([[1, 85, 22, 22]], [[1, 22, 85, 22]])


@needs_converter
def test_optimise_measures_the_tflite_variant_on_litert(testdata: Path, tmp_path: Path) -> None:
    """In the search, the TFLite variant gets its own NHWC input tensors for timing and is
    compared with its parent where the parent runs (an ONNX model does not run on litert)."""
    from edgeplan.progress import no_progress
    from edgeplan.sizing.search import Sizer, SizingConfig

    cfg = SizingConfig(
        model=testdata / "models/fastestdet/FastestDet.onnx",
        data=testdata / "datasets/coco128/val2017_yolo",
        latency_ms_p99=1.0,
        accuracy_floor=0.1,
        backends=("onnxruntime", "litert"),
        threads=1,
        eval_images=24,
        calibration_images=16,
        duration_s=0.5,
        cache=tmp_path,
    )
    s = Sizer(cfg, no_progress)
    for b in cfg.backends:
        s.parents[b] = s.run([], b)
    assert s.parents["litert"].latency_ms_p99 is None  # says why, does not crash
    t = s.run([TfliteInt8()], "litert")
    assert t.latency_ms_p99 is not None and t.accuracy is not None and t.accepted, t.reason
    assert "speed-up against the parent on onnxruntime" in t.notes
    assert t.speedup_vs_parent is not None and t.speedup_vs_parent > 0
