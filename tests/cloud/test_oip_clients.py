"""The cloud tier with a real Open Inference Protocol client (`tritonclient[http]` from PyPI):
metadata a client can discover the input from, the model config, an infer with the binary
tensor data extension both ways, and error statuses for bad input; a model that cannot load
is an error exit, not a server without a model."""

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from ..agent.conftest import free_port
from .test_cloud_hybrid import CLI, start_cloud

httpclient = pytest.importorskip(
    "tritonclient.http", reason="tritonclient[http] not installed (make test installs it)"
)
from tritonclient.utils import InferenceServerException  # noqa: E402


@pytest.fixture(scope="module")
def server(testdata: Path):
    port = free_port()
    proc = start_cloud(testdata / "models/fastestdet/FastestDet.onnx", port)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=15)


def _image(testdata: Path) -> bytes:
    return cv2.imencode(".jpg", cv2.imread(str(testdata / "models/fastestdet/images/0.jpg")))[
        1
    ].tobytes()


def test_metadata_and_config_describe_the_input(server: str) -> None:
    c = httpclient.InferenceServerClient(server)
    assert c.is_server_live() and c.is_model_ready("edgeplan")
    meta = c.get_model_metadata("edgeplan")
    assert meta["inputs"] == [{"name": "image", "datatype": "BYTES", "shape": [-1]}]
    assert meta["outputs"][0]["name"] == "detections"
    cfg = c.get_model_config("edgeplan")
    assert cfg["input"][0]["name"] == "image" and cfg["max_batch_size"] == 0
    assert "binary_tensor_data" in c.get_server_metadata()["extensions"]


@pytest.mark.parametrize("binary", [True, False])
def test_infer_with_binary_tensor_data(server: str, testdata: Path, binary: bool) -> None:
    """Input sent with the binary extension (tritonclient's default); output binary or JSON."""
    c = httpclient.InferenceServerClient(server)
    x = httpclient.InferInput("image", [2], "BYTES")
    x.set_data_from_numpy(np.array([_image(testdata)] * 2, dtype=np.object_), binary_data=True)
    out = httpclient.InferRequestedOutput("detections", binary_data=binary)
    res = c.infer("edgeplan", [x], outputs=[out], request_id="r1")
    got = res.as_numpy("detections")
    assert got.shape == (2,) and res.get_response()["id"] == "r1"
    dets = json.loads(got[0])
    assert dets and {"label", "score", "box_xyxy", "name"} <= set(dets[0])


def test_bad_input_gets_an_error_status(server: str) -> None:
    c = httpclient.InferenceServerClient(server)
    x = httpclient.InferInput("image", [1], "BYTES")
    x.set_data_from_numpy(np.array([b"not an image"], dtype=np.object_), binary_data=True)
    with pytest.raises(InferenceServerException, match="undecodable image"):
        c.infer("edgeplan", [x])
    y = httpclient.InferInput("pixels", [1], "BYTES")
    y.set_data_from_numpy(np.array([b"x"], dtype=np.object_), binary_data=True)
    with pytest.raises(InferenceServerException, match="unknown input"):
        c.infer("edgeplan", [y])
    with pytest.raises(InferenceServerException, match="unknown model"):
        c.get_model_metadata("yolo")


def test_a_truncated_model_is_an_error_exit(testdata: Path, tmp_path: Path) -> None:
    bad = tmp_path / "FastestDet.onnx"
    bad.write_bytes((testdata / "models/fastestdet/FastestDet.onnx").read_bytes()[:20_000])
    r = subprocess.run([*CLI, "cloud", "serve", str(bad), "--port", str(free_port())],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 3 and "cannot load" in r.stderr and "Traceback" not in r.stderr
