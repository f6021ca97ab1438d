"""Open a model by path: detect its format and hash its bytes."""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edgeplan.errors import ModelError

ModelFormat = Literal["onnx", "tflite", "openvino-ir"]


@dataclass(frozen=True)
class ModelFile:
    """A model on disk. For OpenVINO IR, `path` is the .xml and `weights` the .bin."""

    path: Path
    format: ModelFormat
    sha256: str
    size_bytes: int
    weights: Path | None = None


def detect_format(path: Path) -> ModelFormat:
    """Format from magic bytes first, extension second; a clear ModelError otherwise."""
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    head = path.read_bytes()[:64]
    if len(head) >= 8 and head[4:8] == b"TFL3":
        return "tflite"
    if path.suffix == ".xml" and b"<net" in path.read_bytes()[:4096]:
        return "openvino-ir"
    if path.suffix == ".onnx" or head[:1] == b"\x08":  # ONNX protobuf starts with ir_version
        return "onnx"
    raise ModelError(
        f"{path}: unknown model format (expected ONNX .onnx, TFLite .tflite or OpenVINO IR .xml)"
    )


def _sha256(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def open_model(path: Path | str) -> ModelFile:
    """Detect the format, check companion files exist, and hash the model's bytes."""
    path = Path(path)
    fmt = detect_format(path)
    weights = None
    files = [path]
    if fmt == "openvino-ir":
        weights = path.with_suffix(".bin")
        if not weights.is_file():
            raise ModelError(f"{path}: OpenVINO IR needs its weights file {weights.name} beside it")
        files.append(weights)
    size = sum(p.stat().st_size for p in files)
    if size == 0:
        raise ModelError(f"{path}: model file is empty")
    return ModelFile(path=path, format=fmt, sha256=_sha256(files), size_bytes=size, weights=weights)
