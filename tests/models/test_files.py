from pathlib import Path

import pytest

from edgeplan.errors import ModelError
from edgeplan.models import detect_format, open_model


def test_formats_detected_from_real_models(testdata: Path) -> None:
    assert detect_format(testdata / "models/fastestdet/FastestDet.onnx") == "onnx"
    assert detect_format(testdata / "models/coral/mobilenet_v2_1.0_224_quant.tflite") == "tflite"


def test_sha256_is_stable_and_distinct(fastestdet: Path, yunet: Path) -> None:
    a, b = open_model(fastestdet), open_model(fastestdet)
    assert a.sha256 == b.sha256 and len(a.sha256) == 64
    assert open_model(yunet).sha256 != a.sha256


def test_openvino_ir_needs_its_bin(tmp_path: Path) -> None:
    xml = tmp_path / "m.xml"
    xml.write_text('<?xml version="1.0"?><net name="x" version="11"></net>')
    with pytest.raises(ModelError, match=r"m\.bin"):
        open_model(xml)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.onnx", None, "not found"),
        ("empty.onnx", b"", "empty"),
        ("notes.txt", b"hello", "unknown model format"),
    ],
)
def test_bad_model_files(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        open_model(p)
