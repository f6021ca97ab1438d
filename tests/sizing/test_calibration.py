"""Streaming calibration: one split policy, images streamed from disk, ranges that match
onnxruntime's own calibrators, memory bounded by output groups, and the zero-size tensor that
onnxruntime's strided Percentile mode fails on."""

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from edgeplan.backends.predict import load_model
from edgeplan.data.readers import open_dataset
from edgeplan.sizing import ort_calibrate as oc
from edgeplan.sizing.calibration import (
    CALIBRATION_IMAGES,
    CalibrationSet,
    calibration_set,
    eval_limit,
    split_paths,
)
from edgeplan.sizing.passes import Int8Static, PassInputs
from edgeplan.sizing.variants import build, variant_id
from edgeplan.spec.modelcard import InputSpec
from tests.onnx_graphs import save_graph


@pytest.mark.parametrize(
    ("n", "quick", "want"),
    [(80, False, 48), (80, True, 40), (40, False, 8), (39, False, 39), (10, True, 10)],
)
def test_evaluation_never_touches_the_calibration_tail(n: int, quick: bool, want: int) -> None:
    assert eval_limit(n, quick) == want
    usable = split_paths([Path(f"{i}.png") for i in range(n)])
    assert usable == (n - CALIBRATION_IMAGES if n >= CALIBRATION_IMAGES + 8 else None)


@pytest.fixture(scope="module")
def fastestdet_cal(
    testdata: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, CalibrationSet]:
    # a copy: onnxruntime's own calibrator writes a shape-inferred file beside its model, and
    # nothing may be written beside the shared data
    model = tmp_path_factory.mktemp("model") / "FastestDet.onnx"
    shutil.copyfile(testdata / "models/fastestdet/FastestDet.onnx", model)
    lm = load_model(model)
    paths = [s.path for s in open_dataset(testdata / "datasets/coco128/val2017_yolo")]
    cal = calibration_set(paths, lm.card.input, lm.session.input_names[0])
    assert cal is not None and len(cal) == CALIBRATION_IMAGES
    assert not set(cal.paths) & set(paths[: eval_limit(len(paths), False)])
    return model, cal


def test_calibration_set_streams_and_hashes_its_content(
    fastestdet_cal: tuple[Path, CalibrationSet], tmp_path: Path
) -> None:
    _, cal = fastestdet_cal
    first = cal.first(3)
    assert len(first) == 3 and first[0][cal.input_name].shape == (1, 3, 352, 352)
    assert sum(1 for _ in cal) == len(cal)  # re-iterable
    other = CalibrationSet(cal.paths[:-1], cal.spec, cal.input_name)
    resized = CalibrationSet(
        cal.paths, cal.spec.model_copy(update={"height_px": 320}), cal.input_name
    )
    assert len({cal.sha256(), other.sha256(), resized.sha256()}) == 3
    step = Int8Static()
    assert variant_id("p", step, cal.sha256()) != variant_id("p", step, other.sha256())


def _reference_ranges(model: Path, samples: list[dict], method: str, tmp: Path) -> dict:
    """onnxruntime's own all-at-once calibrator on the same samples."""
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator

    class Reader:
        def __init__(self) -> None:
            self.it = iter(samples)

        def get_next(self) -> dict | None:
            return next(self.it, None)

    cal = create_calibrator(
        model,
        oc.op_types_to_quantize(),
        augmented_model_path=str(tmp / "aug.onnx"),
        calibrate_method=getattr(CalibrationMethod, method),
    )
    cal.collect_data(Reader())
    return _as_floats(cal.compute_data())


def _ours(cache: Path) -> dict:
    from onnxruntime.quantization.calibrate import load_tensors_data

    return _as_floats(load_tensors_data(cache))


def _as_floats(td: object) -> dict[str, tuple[float, float]]:
    out = {}
    for k, v in td.items():  # type: ignore[attr-defined]
        lo, hi = v.range_value
        out[k] = (float(np.min(lo)), float(np.max(hi)))
    return out


@pytest.mark.parametrize("method", ["MinMax", "Percentile"])
def test_streamed_ranges_match_onnxruntime_all_at_once(
    fastestdet_cal: tuple[Path, CalibrationSet], tmp_path: Path, method: str
) -> None:
    model, cal = fastestdet_cal
    small = CalibrationSet(cal.paths[:6], cal.spec, cal.input_name)
    ref = _reference_ranges(model, small.first(6), method, tmp_path)
    cache = oc.streaming_ranges(model, small, len(small), method, tmp_path, group_budget_mib=4)
    ours = _ours(cache)
    assert set(ours) == set(ref)
    lo = np.array([[ours[k][0], ref[k][0]] for k in ref])
    hi = np.array([[ours[k][1], ref[k][1]] for k in ref])
    if method == "MinMax":  # exactly the same statistic
        np.testing.assert_allclose(lo[:, 0], lo[:, 1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(hi[:, 0], hi[:, 1], rtol=1e-5, atol=1e-6)
    else:  # same histogram method; our |x| bins start at 0, onnxruntime's at min |x|
        rel = np.abs(hi[:, 0] - hi[:, 1]) / np.maximum(np.abs(hi[:, 1]), 1e-6)
        assert float(np.median(rel)) < 0.01 and float(np.percentile(rel, 90)) < 0.05


def test_output_groups_stay_within_the_budget(
    fastestdet_cal: tuple[Path, CalibrationSet], tmp_path: Path
) -> None:
    model, cal = fastestdet_cal
    names = oc.tensors_to_calibrate(model)
    stream = oc.OutputStream(model, names, tmp_path, budget_mib=1)
    seen: dict[str, int] = {}
    n = stream.visit(cal.first(2), lambda k, a: seen.__setitem__(k, a.nbytes), lambda _i: None)
    assert n == 2 and set(seen) == set(names)  # every calibrated tensor, every image
    for group in stream.groups:  # packed by bytes after the first image
        assert len(group) == 1 or sum(seen[k] for k in group) <= 2**20


def _model_with_an_empty_tensor(path: Path) -> None:
    """x -> Conv -> Relu, concatenated with an empty Slice of x: a zero-size float tensor."""
    w = helper.make_tensor(
        "w", TensorProto.FLOAT, [4, 3, 3, 3], np.random.default_rng(0).normal(size=108)
    )
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Slice", ["x", "s0", "s1", "ax"], ["empty"]),
        helper.make_node("Concat", ["r", "empty"], ["y"], axis=1),
    ]
    inits = [
        w,
        helper.make_tensor("s0", TensorProto.INT64, [1], [0]),
        helper.make_tensor("s1", TensorProto.INT64, [1], [0]),
        helper.make_tensor("ax", TensorProto.INT64, [1], [1]),
    ]
    save_graph(path, nodes, inits, [1, 3, 16, 16], [1, 4, 16, 16], opset=13)


def test_a_zero_size_tensor_does_not_break_percentile(tmp_path: Path) -> None:
    """onnxruntime's CalibStridedMinMax + Percentile raises `zero-size array to reduction
    operation fmax` here (seen on PP-OCRv4 det); the streamed calibration must not."""
    import cv2

    from edgeplan.models.files import open_model
    from edgeplan.spec.modelcard import ModelCard

    model = tmp_path / "m.onnx"
    _model_with_an_empty_tensor(model)
    imgs = []
    for i in range(4):
        p = tmp_path / f"{i}.png"
        cv2.imwrite(str(p), np.random.default_rng(i).integers(0, 255, (20, 20, 3), np.uint8))
        imgs.append(p)
    spec = InputSpec(height_px=16, width_px=16, scale=1 / 255)
    cal = CalibrationSet(tuple(imgs), spec, "x")
    card = ModelCard(input=spec)
    v = build(open_model(model), card, [Int8Static()], tmp_path / "v", PassInputs(cal))
    sess = ort.InferenceSession(str(v.path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"x": next(iter(cal))["x"]})[0]
    assert out.shape == (1, 4, 16, 16) and np.isfinite(out).all()
    cache = json.loads((v.path.parent / "calibration.json").read_text())
    assert cache  # the ranges are kept beside the variant


def test_dynamic_input_is_calibrated_at_the_card_size(testdata: Path, tmp_path: Path) -> None:
    from edgeplan.models.files import open_model

    card = load_model(testdata / "models/yunet/yunet_n_320_320.onnx").card
    model = open_model(testdata / "models/yunet/yunet_n_dynamic.onnx")
    imgs = sorted((testdata / "models/fastestdet/images").glob("*.jpg"))
    cal = CalibrationSet(tuple(imgs), card.input, "input")
    v = build(model, card, [Int8Static(method="MinMax")], tmp_path, PassInputs(cal))
    assert any("pinned to 320x320" in n for n in v.notes), v.notes
    sess = ort.InferenceSession(str(v.path), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == [1, 3, 320, 320]
