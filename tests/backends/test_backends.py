import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeplan.backends import BackendOptions, available_backends, backend_for, get_backend
from edgeplan.errors import BackendUnavailable, ModelError
from edgeplan.models import open_model

RNG = np.random.default_rng(0)


def _inputs(sess) -> dict[str, np.ndarray]:
    out = {}
    for n in sess.input_names:
        shape = [d if d > 0 else 1 for d in sess.input_shapes[n]]
        dt = np.dtype(sess.input_dtypes[n])
        out[n] = (
            RNG.random(shape).astype(dt)
            if dt.kind == "f"
            else RNG.integers(0, 255, shape).astype(dt)
        )
    return out


def test_all_three_backends_installed() -> None:
    assert set(available_backends()) >= {"onnxruntime", "openvino", "litert"}


@pytest.mark.parametrize(
    ("backend", "model"),
    [
        ("onnxruntime", "fastestdet/FastestDet.onnx"),
        ("onnxruntime", "yunet/yunet_n_320_320.onnx"),
        ("openvino", "fastestdet/FastestDet.onnx"),
        ("openvino", "yunet/yunet_n_320_320.onnx"),
        ("litert", "coral/mobilenet_v2_1.0_224_quant.tflite"),
        ("litert", "coral/mobilenet_v1_0.25_128_quant.tflite"),
    ],
)
def test_real_models_run(testdata: Path, backend: str, model: str) -> None:
    sess = get_backend(backend).load(
        open_model(testdata / "models" / model), BackendOptions(threads=1)
    )
    out = sess.run(_inputs(sess))
    assert set(out) == set(sess.output_shapes)
    for name, arr in out.items():
        assert np.isfinite(arr.astype(np.float64)).all(), name
    assert sess.applied_options


def test_onnxruntime_and_openvino_f32_agree(fastestdet: Path) -> None:
    """Same model, same input: OpenVINO with the f32 hint matches onnxruntime to float tolerance."""
    mf = open_model(fastestdet)
    ort_s = get_backend("onnxruntime").load(mf, BackendOptions(threads=1))
    ov_s = get_backend("openvino").load(mf, BackendOptions(threads=1, precision="f32"))
    assert ov_s.applied_options["inference_precision"] == "f32"
    x = _inputs(ort_s)
    a, b = next(iter(ort_s.run(x).values())), next(iter(ov_s.run(x).values()))
    np.testing.assert_allclose(a, b, atol=1e-3, rtol=1e-3)


def test_openvino_default_precision_is_reported(fastestdet: Path) -> None:
    """On AVX-512 BF16 hosts OpenVINO silently runs bf16; we record what it applied."""
    s = get_backend("openvino").load(open_model(fastestdet), BackendOptions(threads=1))
    assert s.applied_options["inference_precision"] in {"bf16", "f32", "f16"}
    assert s.applied_options["performance_hint"] == "LATENCY"


def test_thread_setting_applied(fastestdet: Path) -> None:
    s = get_backend("openvino").load(open_model(fastestdet), BackendOptions(threads=1))
    assert s.applied_options["inference_num_threads"] == 1
    o = get_backend("onnxruntime").load(open_model(fastestdet), BackendOptions(threads=1))
    assert o.applied_options["intra_op_threads"] == 1 and o.applied_options["allow_spinning"] == "0"


def test_wrong_format_is_refused_with_reason(fastestdet: Path, mobilenet_tflite: Path) -> None:
    with pytest.raises(BackendUnavailable, match="cannot take onnx"):
        get_backend("litert").load(open_model(fastestdet), BackendOptions())
    with pytest.raises(BackendUnavailable, match="cannot take tflite"):
        get_backend("onnxruntime").load(open_model(mobilenet_tflite), BackendOptions())


def test_cuda_on_a_cpu_build_names_what_to_install(fastestdet: Path) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this host has CUDA; the refusal path does not apply")
    with pytest.raises(BackendUnavailable, match="onnxruntime-gpu"):
        get_backend("onnxruntime").load(open_model(fastestdet), BackendOptions(device="cuda"))


def test_unknown_backend_lists_names() -> None:
    with pytest.raises(BackendUnavailable, match="litert"):
        get_backend("tensorflow")


def test_default_backend_by_format(fastestdet: Path, mobilenet_tflite: Path) -> None:
    assert backend_for(open_model(fastestdet)).name == "onnxruntime"
    assert "tflite" in backend_for(open_model(mobilenet_tflite)).capabilities.formats


def test_corrupt_model_is_a_model_error(
    tmp_path: Path, fastestdet: Path, mobilenet_tflite: Path
) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(fastestdet.read_bytes()[:20000])
    for name in ("onnxruntime", "openvino"):
        with pytest.raises(ModelError, match="cannot"):
            get_backend(name).load(open_model(bad), BackendOptions())
    with pytest.raises(ModelError) as err:  # OpenVINO's own words, not its C++ frames
        get_backend("openvino").load(open_model(bad), BackendOptions())
    reason = str(err.value).split("cannot compile it: ", 1)[-1]
    assert reason and "Exception from src/" not in reason, reason
    bad_tfl = tmp_path / "bad.tflite"
    bad_tfl.write_bytes(mobilenet_tflite.read_bytes()[:20000])
    with pytest.raises(ModelError):
        get_backend("litert").load(open_model(bad_tfl), BackendOptions())


def test_missing_package_names_what_to_install() -> None:
    """A real interpreter where `import openvino` fails: the error says what to pip install."""
    code = (
        "import sys; sys.modules['openvino'] = None\n"
        "from edgeplan.backends import get_backend\n"
        "from edgeplan.errors import BackendUnavailable\n"
        "try:\n    get_backend('openvino')\n"
        "except BackendUnavailable as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'edgeplan[openvino]'" in out.stdout


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_op_profile_returns_real_conv_timings(fastestdet: Path, backend: str) -> None:
    be = get_backend(backend)
    mf = open_model(fastestdet)
    sess = be.load(mf, BackendOptions(threads=1))
    ops = be.profile_ops(mf, BackendOptions(threads=1), _inputs(sess), runs=3)
    conv = [o for o in ops if "Conv" in o.op_type]
    assert conv and all(o.time_ms >= 0 for o in ops)
    assert sum(o.time_ms for o in conv) > 0
