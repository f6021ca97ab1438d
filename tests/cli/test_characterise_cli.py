"""The CLI as a user runs it: real models, real backends, short runs, JSON keys checked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REQUIRED = {
    "model_sha256",
    "backend",
    "load_ms",
    "first_inference_ms",
    "latency_ms_p50",
    "latency_ms_p90",
    "latency_ms_p99",
    "throughput_fps",
    "peak_rss_mib",
    "stages",
    "top_ops",
    "bottleneck",
    "provenance",
}


def edgeplan(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from edgeplan.cli.main import app; app()",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "EDGEPLAN_STORE": str(store), "COLUMNS": "160"},
    )


@pytest.mark.parametrize(
    ("model", "backend", "extra"),
    [
        ("fastestdet/FastestDet.onnx", "onnxruntime", ["--images", "models/fastestdet/images"]),
        ("fastestdet/FastestDet.onnx", "openvino", ["--video", "videos/car-detection.mp4"]),
        ("coral/mobilenet_v2_1.0_224_quant.tflite", "litert", ["--images", "models/coral"]),
    ],
)
def test_characterise_writes_required_keys(
    testdata: Path, tmp_path: Path, model: str, backend: str, extra: list[str]
) -> None:
    out = tmp_path / "out.json"
    extra = [a if a.startswith("--") else str(testdata / a) for a in extra]
    r = edgeplan(
        "characterise",
        str(testdata / "models" / model),
        "--backend",
        backend,
        "--threads",
        "1",
        "--duration-s",
        "2",
        "--json",
        str(out),
        *extra,
        store=tmp_path / "s.sqlite",
    )
    assert r.returncode == 0, r.stderr + r.stdout
    data = json.loads(out.read_text())
    assert set(data) >= REQUIRED
    assert data["latency_ms_p99"] >= data["latency_ms_p50"] > 0
    assert data["latency_ms_p90"] >= data["latency_ms_p50"]
    assert data["throughput_fps"] > 0 and data["peak_rss_mib"] > 0
    assert data["load_ms"] > 0 and data["first_inference_ms"] > 0
    for stage in ("decode", "preprocess", "infer", "postprocess", "end_to_end"):
        s = data["stages"][stage]
        assert s["latency_ms_p99"] >= s["latency_ms_p50"] >= 0
    prov = data["provenance"]
    assert prov["source"] == "measured" and prov["backend"] == backend
    assert (
        prov["host"]["logical_cores"] >= 1
        and backend.replace("litert", "ai-edge-litert") in prov["packages"]
    )
    assert data["energy"]["available"] in (True, False)
    by_kernel = data["static"]["by_kernel"]  # the kernels a compiler forms, with their MACs
    assert sum(k["macs"] for k in by_kernel.values()) == data["static"]["macs"] > 0
    if backend != "litert":
        assert data["top_ops"] and data["bottleneck"] in {
            "compute-bound",
            "memory-bound",
            "overhead-bound",
        }
    assert "LoadGen samples are synthetic" not in " ".join(data["warnings"])
    if backend == "onnxruntime":  # same inputs again: the content-addressed cache answers
        again = edgeplan(
            "characterise",
            str(testdata / "models" / model),
            "--backend",
            backend,
            "--threads",
            "1",
            "--duration-s",
            "2",
            "--json",
            str(out),
            *extra,
            "--reuse",
            store=tmp_path / "s.sqlite",
        )
        assert again.returncode == 0 and "reusing record" in again.stdout
        assert json.loads(out.read_text())["record_id"] == data["record_id"]
    # the record is in the store and readable through `records`
    listing = edgeplan("records", "list", store=tmp_path / "s.sqlite")
    assert data["record_id"] in listing.stdout
    shown = edgeplan("records", "show", data["record_id"][:8], store=tmp_path / "s.sqlite")
    assert shown.returncode == 0 and "end_to_end" in shown.stdout
    exported = tmp_path / "all.json"
    edgeplan("records", "export", str(exported), store=tmp_path / "s.sqlite")
    assert json.loads(exported.read_text())[0]["record_id"] == data["record_id"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["characterise", "nope.onnx"], 3, "not found"),
        (["characterise", "{fd}", "--precision", "int4"], 2, "allowed: auto, f32, bf16, fp16"),
        (["characterise", "{fd}", "--backend", "litert"], 4, "cannot take onnx"),
        (["records", "show", "zzzz"], 6, "no record"),
        (["project", "FastestDet", "--device", "rpi5"], 2, "catalogue model ids: "),
        (["project", "yolov8n_640", "--device", "rpi-5"], 2, "did you mean 'rpi5'?"),
        (["schema", "agnet"], 2, "allowed: fleet, agent, card, plan"),
    ],
)
def test_bad_input_gets_a_clear_error_without_traceback(
    testdata: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    args = [a.replace("{fd}", str(testdata / "models/fastestdet/FastestDet.onnx")) for a in args]
    r = edgeplan(*args, store=tmp_path / "s.sqlite")
    assert r.returncode == code, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr


def test_characterise_with_data_adds_accuracy(testdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    r = edgeplan(
        "characterise",
        str(testdata / "models/fastestdet/FastestDet.onnx"),
        "--threads",
        "1",
        "--duration-s",
        "1",
        "--json",
        str(out),
        "--data",
        str(testdata / "datasets/coco128/val2017_yolo"),
        "--data-limit",
        "24",
        store=tmp_path / "s.sqlite",
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    metrics = {m["metric"]: m for m in data["accuracy"]}
    assert set(metrics) == {"map50_95", "map50", "recall_at_serving", "precision_at_serving"}
    assert metrics["map50"]["samples"] == 24
    assert 0 < metrics["recall_at_serving"]["value"] <= 1  # at the deployed score threshold
    assert 0 < metrics["map50"]["value"] <= 1 and "val2017_yolo" in data["accuracy_dataset"]
