"""Sizing passes. Each is a typed unit: model in -> model out, declaring the formats it takes and
gives, with its config; `chain_ok` checks a chain before anything runs."""

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgeplan.errors import ConfigError, ModelError
from edgeplan.models.files import ModelFile


@dataclass(frozen=True)
class PassResult:
    path: Path
    format: str
    notes: tuple[str, ...] = ()


class Pass(Protocol):
    name: str
    takes: frozenset[str]
    gives: str

    def config(self) -> dict[str, Any]: ...

    def apply(
        self, model: ModelFile, out_dir: Path, calibration: list[dict[str, np.ndarray]]
    ) -> PassResult: ...


def chain_ok(fmt: str, chain: list[Pass]) -> None:
    """Refuse a chain whose formats do not connect, before running anything."""
    for p in chain:
        if fmt not in p.takes:
            raise ConfigError(f"pass {p.name!r} takes {sorted(p.takes)}, but gets {fmt}")
        fmt = p.gives


@dataclass(frozen=True)
class Fp16:
    """onnxruntime float16 conversion, keeping fp32 inputs and outputs."""

    name: str = "fp16"
    takes: frozenset[str] = frozenset({"onnx"})
    gives: str = "onnx"

    def config(self) -> dict[str, Any]:
        return {"keep_io_types": True}

    def apply(self, model: ModelFile, out_dir: Path, calibration: list) -> PassResult:
        import warnings

        import onnx
        from onnxconverter_common import float16

        with warnings.catch_warnings():  # tiny weights truncated to fp16's range: expected
            warnings.simplefilter("ignore")
            m = float16.convert_float_to_float16(onnx.load(str(model.path)), keep_io_types=True)
        out = out_dir / "model.onnx"
        onnx.save(m, str(out))
        return PassResult(out, "onnx", ("fp32 inputs/outputs kept",))


class _Reader:
    """onnxruntime CalibrationDataReader over preprocessed calibration samples."""

    def __init__(self, samples: list[dict[str, np.ndarray]]) -> None:
        self._it: Iterator[dict[str, np.ndarray]] = iter(samples)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


@dataclass(frozen=True)
class Int8Static:
    """onnxruntime static QDQ quantisation: per-channel weights, uint8 (default) or int8
    activations, MinMax / Percentile / Entropy calibration, optional ops to exclude."""

    method: str = "Percentile"
    activation: str = "uint8"
    per_channel: bool = True
    exclude_op_types: tuple[str, ...] = ()
    name: str = "int8-static"
    takes: frozenset[str] = frozenset({"onnx"})
    gives: str = "onnx"

    def config(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("name", "takes", "gives"):
            d.pop(k)
        return d

    def apply(self, model: ModelFile, out_dir: Path, calibration: list) -> PassResult:
        import onnx
        from onnxruntime.quantization import (
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process

        if not calibration:
            raise ConfigError("int8-static needs calibration images (--data)")
        m = onnx.load(str(model.path))
        notes = []
        src_path = model.path
        opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 0)
        if opset < 13 and self.per_channel:
            # per-channel on opset < 13 silently produces an unloadable file: convert first
            from onnx import version_converter

            try:
                m = version_converter.convert_version(m, 13)
            except Exception as exc:
                raise ModelError(
                    f"{model.path}: opset {opset} < 13 and conversion to 13 failed "
                    f"({exc}); per-channel int8 needs opset >= 13"
                ) from exc
            src_path = out_dir / "opset13.onnx"
            onnx.save(m, str(src_path))
            notes.append(f"converted opset {opset} -> 13 for per-channel quantisation")
        pre = out_dir / "pre.onnx"
        try:
            quant_pre_process(str(src_path), str(pre), skip_symbolic_shape=True)
            src = pre
        except Exception as exc:  # dynamic shapes and odd graphs: quantise the original
            src = src_path
            notes.append(f"pre-processing skipped ({type(exc).__name__})")
        nodes = [
            n.name for n in onnx.load(str(src)).graph.node if n.op_type in self.exclude_op_types
        ]
        out = out_dir / "model.onnx"
        quantize_static(
            str(src),
            str(out),
            _Reader(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=self.per_channel,
            nodes_to_exclude=nodes,
            activation_type=QuantType.QUInt8 if self.activation == "uint8" else QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=getattr(CalibrationMethod, self.method),
            extra_options={"CalibMovingAverage": False} if self.method == "MinMax" else {},
        )
        return PassResult(out, "onnx", tuple(notes))


@dataclass(frozen=True)
class Int8Nncf:
    """NNCF post-training quantisation to an OpenVINO IR (the fastest int8 path measured on
    this CPU); its output runs on the openvino backend."""

    preset: str = "performance"
    subset_size: int = 100
    name: str = "int8-nncf"
    takes: frozenset[str] = frozenset({"onnx", "openvino-ir"})
    gives: str = "openvino-ir"

    def config(self) -> dict[str, Any]:
        return {"preset": self.preset, "subset_size": self.subset_size}

    def apply(self, model: ModelFile, out_dir: Path, calibration: list) -> PassResult:
        import nncf
        import openvino as ov

        if not calibration:
            raise ConfigError("int8-nncf needs calibration images (--data)")
        core = ov.Core()
        ovm = core.read_model(str(model.path))
        name = ovm.inputs[0].get_any_name()
        data = nncf.Dataset(calibration, lambda s: s[next(iter(s))] if name not in s else s[name])
        q = nncf.quantize(
            ovm,
            data,
            preset=getattr(nncf.QuantizationPreset, self.preset.upper()),
            subset_size=min(self.subset_size, len(calibration)),
        )
        out = out_dir / "model.xml"
        ov.save_model(q, str(out))
        return PassResult(out, "openvino-ir", ())


# classifier heads: a flattened feature map feeds a fixed-size matrix
FIXED_SHAPE_OPS = {"Flatten", "Gemm"}


@dataclass(frozen=True)
class Resolution:
    """Change the input size of a fully convolutional ONNX model. The resized graph must load
    and run in onnxruntime; otherwise the pass refuses with the runtime's reason (e.g. a Reshape
    to a constant shape that pins the spatial size)."""

    height_px: int = 256
    width_px: int = 256
    name: str = "resolution"
    takes: frozenset[str] = frozenset({"onnx"})
    gives: str = "onnx"

    def config(self) -> dict[str, Any]:
        return {"height_px": self.height_px, "width_px": self.width_px}

    def apply(self, model: ModelFile, out_dir: Path, calibration: list) -> PassResult:
        import onnx
        import onnxruntime as ort

        m = onnx.load(str(model.path))
        fixed = sorted({n.op_type for n in m.graph.node if n.op_type in FIXED_SHAPE_OPS})
        if fixed:
            raise ModelError(
                f"{model.path.name}: resolution cannot change: {', '.join(fixed)} "
                "ops need a fixed feature-map size"
            )
        init = {i.name for i in m.graph.initializer}
        for inp in m.graph.input:
            dims = inp.type.tensor_type.shape.dim
            if inp.name not in init and len(dims) == 4:
                dims[2].dim_value, dims[3].dim_value = self.height_px, self.width_px
                if not dims[0].dim_value:
                    dims[0].dim_value = 1
        for out in m.graph.output:  # let the runtime infer output sizes
            for d in out.type.tensor_type.shape.dim:
                d.dim_param = d.dim_param or "dyn"
        del m.graph.value_info[:]
        path = out_dir / "model.onnx"
        onnx.save(m, str(path))
        try:
            so = ort.SessionOptions()
            so.log_severity_level = 4  # the refusal below carries the message
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            i = sess.get_inputs()[0]
            sess.run(None, {i.name: np.zeros([1, 3, self.height_px, self.width_px], np.float32)})
        except Exception as exc:  # the runtime says why the graph cannot take the new size
            msg = " ".join(str(exc).split())
            running = msg.find("while running")
            reason = (msg[running:] if running >= 0 else msg)[:220]
            raise ModelError(
                f"{model.path.name}: resolution cannot change to "
                f"{self.width_px}x{self.height_px}: {reason}"
            ) from exc
        return PassResult(path, "onnx", (f"input {self.width_px}x{self.height_px}",))


PASSES: dict[str, type] = {
    "fp16": Fp16,
    "int8-static": Int8Static,
    "int8-nncf": Int8Nncf,
    "resolution": Resolution,
}
__all__ = [
    "PASSES",
    "Fp16",
    "Int8Nncf",
    "Int8Static",
    "Pass",
    "PassResult",
    "Resolution",
    "chain_ok",
    "field",
]
