"""Evaluation on the real shared data: figures against the references in data/SOURCES.md."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgeplan.backends import BackendOptions
from edgeplan.backends.predict import load_model
from edgeplan.data.cascade import evaluate_cascade
from edgeplan.data.evaluate import EvalConfig, evaluate
from edgeplan.data.tasks import pose_vs_reference, segmentation_miou

OPTS = BackendOptions(threads=2)
# top-1 on the 1,300-image subset, OpenCV INTER_LINEAR column of data/SOURCES.md
REFERENCE_TOP1 = {
    "mobilenet_v2_1.0_224_quant": 0.785,
    "mobilenet_v1_0.25_128_quant": 0.542,
    "mobilenet_v1_0.5_160_quant": 0.701,
}


@pytest.mark.parametrize(("model", "top1"), REFERENCE_TOP1.items())
def test_coral_mobilenets_match_reference_top1(testdata: Path, model: str, top1: float) -> None:
    r = evaluate(
        EvalConfig(
            model=testdata / f"models/coral/{model}.tflite",
            data=testdata / "datasets/ilsvrc2012_val1300",
            options=OPTS,
        )
    )
    assert r.samples == 1300 and r.metric == "top1" and r.backend == "litert"
    assert r.value == pytest.approx(top1, abs=0.02)
    assert r.ci95_low < r.value < r.ci95_high and r.figure == "accuracy"
    assert len(r.dataset_sha256) == 64 and "built-in card" in r.card_source


def test_fastestdet_coco_map_by_the_coco_evaluator(testdata: Path) -> None:
    r = evaluate(
        EvalConfig(
            model=testdata / "models/fastestdet/FastestDet.onnx",
            data=testdata / "datasets/coco128/val2017_yolo",
            options=OPTS,
            n_boot=30,
        )
    )
    m = {x.metric: x for x in r.metrics}
    # SOURCES.md: mAP@.5 0.340, mAP@[.5:.95] 0.199 (pycocotools, score 0.001, class-wise NMS)
    assert m["map50"].value == pytest.approx(0.340, abs=0.03)
    assert m["map50_95"].value == pytest.approx(0.199, abs=0.02)
    assert m["map50"].samples == 128


def test_corrupt_image_is_reported_skipped_and_counted(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "datasets/coco128/val2017_yolo"
    (tmp_path / "images").mkdir()
    for p in sorted((src / "images").glob("*.jpg"))[:6]:
        shutil.copy(p, tmp_path / "images" / p.name)
    shutil.copytree(src / "labels", tmp_path / "labels")
    victim = sorted((tmp_path / "images").glob("*.jpg"))[2]
    victim.write_bytes(victim.read_bytes()[:300])  # truncated JPEG
    r = evaluate(
        EvalConfig(
            model=testdata / "models/fastestdet/FastestDet.onnx",
            data=tmp_path,
            options=OPTS,
            n_boot=10,
        )
    )
    assert r.skipped == 1 and victim.name in r.problems[0] and r.samples == 5


def test_agreement_is_reported_as_agreement(testdata: Path) -> None:
    m = testdata / "models/coral"
    r = evaluate(
        EvalConfig(
            model=m / "mobilenet_v1_0.5_160_quant.tflite",
            data=testdata / "models/fastestdet/images",
            options=OPTS,
            reference=m / "mobilenet_v2_1.0_224_quant.tflite",
        )
    )
    assert r.figure == "agreement" and r.metric == "top1_agreement" and r.samples == 5
    same = evaluate(
        EvalConfig(
            model=m / "mobilenet_v1_0.5_160_quant.tflite",
            data=testdata / "models/fastestdet/images",
            options=OPTS,
            reference=m / "mobilenet_v1_0.5_160_quant.tflite",
        )
    )
    assert same.value == 1.0


def test_detector_agreement_uses_box_f1(testdata: Path) -> None:
    y = testdata / "models/yunet"
    r = evaluate(
        EvalConfig(
            model=y / "yunet_n_320_320.onnx",
            data=testdata / "models/fastestdet/images",
            options=OPTS,
            reference=y / "yunet_s_320_320.onnx",
        )
    )
    assert r.metric == "box_f1_iou50_agreement" and 0.0 <= r.value <= 1.0


def test_cascade_sweep_trades_escalation_for_accuracy(testdata: Path) -> None:
    m = testdata / "models/coral"
    r = evaluate_cascade(
        EvalConfig(
            model=m / "mobilenet_v1_0.25_128_quant.tflite",
            data=testdata / "datasets/ilsvrc2012_val1300",
            options=OPTS,
            limit=300,
            n_boot=50,
        ),
        m / "mobilenet_v2_1.0_224_quant.tflite",
        accuracy_floor=0.68,
    )
    rates = [b.escalation_rate for b in r.bands]
    assert rates == sorted(rates) and rates[0] == 0.0 and rates[-1] == 1.0
    assert r.bands[0].cascade.value == pytest.approx(r.edge.value)
    assert r.bands[-1].cascade.value == pytest.approx(r.cloud.value)
    best = r.cheapest_band_meeting_floor
    assert best is not None and best.cascade.value >= 0.68 and best.escalation_rate < 1.0
    assert all(b.escalation_rate >= best.escalation_rate for b in r.bands if b.meets_floor)


def test_deeplab_miou_on_the_bird(testdata: Path) -> None:
    c = testdata / "models/coral"
    model = load_model(c / "deeplabv3_mnv2_dm05_pascal_quant.tflite", options=OPTS)
    value, per_class = segmentation_miou(
        model, c / "bird_segmentation.bmp", c / "bird_segmentation_mask.bmp", n_classes=21
    )
    assert per_class[3] > 0.8  # 3 = bird in the Pascal labels
    assert per_class[0] > 0.95  # background
    # the mask also holds a few hundred pixels of classes 1/2 along the bird's edge, which the
    # model never predicts: single-image mIoU counts them, so it is far below the bird IoU
    assert value == pytest.approx(sum(per_class.values()) / len(per_class))


def test_movenet_matches_its_reference_keypoints(testdata: Path) -> None:
    c = testdata / "models/coral"
    model = load_model(c / "movenet_single_pose_lightning_ptq.tflite", options=OPTS)
    err, oks, n = pose_vs_reference(
        model, c / "squat.bmp", c / "movenet_single_pose_lightning_ptq_reference.csv"
    )
    assert n == 17 and err < 0.05 and oks > 0.8


@pytest.mark.parametrize(
    "face_model", ["yunet/yunet_n_320_320.onnx", "ultraface/version-RFB-320.onnx"]
)
def test_face_detectors_run_end_to_end_on_sample_images(testdata: Path, face_model: str) -> None:
    import cv2

    model = load_model(testdata / "models" / face_model, options=OPTS)
    found = 0
    for img in sorted((testdata / "models/fastestdet/images").glob("*.jpg")):
        frame = cv2.imread(str(img))
        for d in model.predict(frame):
            x1, y1, x2, y2 = d["box_xyxy"]
            h, w = frame.shape[:2]
            assert -0.1 * w <= x1 < x2 <= 1.1 * w and -0.1 * h <= y1 < y2 <= 1.1 * h
            found += 1
    assert found >= 1


def test_evaluate_cli_writes_the_json_keys(testdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "acc.json"
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from edgeplan.cli.main import app; app()",
            "evaluate",
            str(testdata / "models/coral/mobilenet_v1_0.25_128_quant.tflite"),
            "--data",
            str(testdata / "datasets/ilsvrc2012_val1300"),
            "--limit",
            "200",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    for key in (
        "metric",
        "value",
        "ci95_low",
        "ci95_high",
        "samples",
        "dataset_sha256",
        "backend",
        "model_sha256",
    ):
        assert key in data
    assert data["samples"] == 200 and data["metric"] == "top1"
