"""The accelerator EPs a user names (Qualcomm QNN, Apple CoreML, AMD MIGraphX/ROCm, NVIDIA) load
where their onnxruntime build is installed and are refused, naming what to install, where not."""

from pathlib import Path

import pytest

from edgeplan.backends.base import BackendOptions
from edgeplan.backends.predict import load_model
from edgeplan.errors import BackendUnavailable

ort = pytest.importorskip("onnxruntime")
INSTALL = {
    "qnn": "onnxruntime-qnn",
    "coreml": "macOS",
    "migraphx": "MIGraphX",
    "rocm": "onnxruntime-rocm",
    "cuda": "onnxruntime-gpu",
    "tensorrt": "TensorRT",
}
EP = {
    "qnn": "QNNExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}


@pytest.mark.parametrize("device", sorted(EP))
def test_an_ep_loads_or_is_refused_with_what_to_install(device: str, testdata: Path) -> None:
    model = testdata / "models/fastestdet/FastestDet.onnx"
    if EP[device] in ort.get_available_providers():  # a machine that has it: it must load
        m = load_model(model, "onnxruntime", BackendOptions(device=device))  # type: ignore[arg-type]
        assert m.session.applied_options["execution_provider"] == EP[device]
        return
    with pytest.raises(BackendUnavailable) as err:
        load_model(model, "onnxruntime", BackendOptions(device=device))  # type: ignore[arg-type]
    assert EP[device] in str(err.value) and INSTALL[device] in str(err.value)
