"""Sizing passes. Each is a typed unit: model in -> model out, declaring the formats it takes and
gives, with its config; `chain_ok` checks a chain before anything runs."""

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeplan.errors import ConfigError, ModelError
from edgeplan.models.files import ModelFile
from edgeplan.sizing.nncf_pass import Int8Nncf
from edgeplan.sizing.pass_base import (
    Pass,
    PassInputs,
    PassResult,
    chain_ok,
    fit_calibration,
    pin_input,
    prepare_onnx,
    static_hw,
)
from edgeplan.sizing.tflite_pass import TfliteInt8


@dataclass(frozen=True)
class Fp16:
    """onnxruntime float16 conversion, keeping fp32 inputs and outputs."""

    name: str = "fp16"
    takes: frozenset[str] = frozenset({"onnx"})
    gives: str = "onnx"
    uses_calibration: bool = False

    def config(self) -> dict[str, Any]:
        return {"keep_io_types": True}

    def apply(self, model: ModelFile, out_dir: Path, inputs: PassInputs) -> PassResult:
        import warnings

        import onnx
        from onnxconverter_common import float16

        with warnings.catch_warnings():  # tiny weights truncated to fp16's range: expected
            warnings.simplefilter("ignore")
            m = float16.convert_float_to_float16(onnx.load(str(model.path)), keep_io_types=True)
        out = out_dir / "model.onnx"
        onnx.save(m, str(out))
        return PassResult(out, "onnx", ("fp32 inputs/outputs kept",))


@dataclass(frozen=True)
class Int8Static:
    """onnxruntime static QDQ quantisation: per-channel weights, uint8 (default) or int8
    activations, MinMax / Percentile / Entropy calibration, optional ops to exclude.
    Activation ranges are computed by streaming (`sizing.ort_calibrate`): memory does not grow
    with the number of calibration images."""

    method: str = "Percentile"
    activation: str = "uint8"
    per_channel: bool = True
    exclude_op_types: tuple[str, ...] = ()
    name: str = "int8-static"
    takes: frozenset[str] = frozenset({"onnx"})
    gives: str = "onnx"
    uses_calibration: bool = True

    def config(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("name", "takes", "gives", "uses_calibration"):
            d.pop(k)
        return d

    def apply(self, model: ModelFile, out_dir: Path, inputs: PassInputs) -> PassResult:
        import onnx
        from onnxruntime.quantization import (
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )

        from edgeplan.sizing.ort_calibrate import streaming_ranges

        if not inputs.calibration:
            raise ConfigError("int8-static needs calibration images (--data)")
        src, notes = prepare_onnx(model, out_dir, inputs.calibration.spec, self.per_channel)
        src_model = onnx.load(str(src), load_external_data=False)
        cal = fit_calibration(inputs.calibration, static_hw(src_model))
        nodes = [n.name for n in src_model.graph.node if n.op_type in self.exclude_op_types]
        del src_model
        what = f"calibrating ({self.method}, {len(cal)} images streamed)"
        cache = streaming_ranges(
            src,
            cal,
            len(cal),
            self.method,
            out_dir,
            tick=lambda d, t: inputs.progress(what, d, t),
        )
        inputs.progress("quantising (onnxruntime QDQ)")
        out = out_dir / "model.onnx"
        quantize_static(
            str(src),
            str(out),
            None,
            quant_format=QuantFormat.QDQ,
            per_channel=self.per_channel,
            nodes_to_exclude=nodes,
            activation_type=QuantType.QUInt8 if self.activation == "uint8" else QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=getattr(CalibrationMethod, self.method),
            calibration_cache_path=str(cache),
        )
        for tmp in ("src.onnx", "pre.onnx", "augmented_minmax.onnx", "augmented_hist.onnx"):
            (out_dir / tmp).unlink(missing_ok=True)
        return PassResult(out, "onnx", tuple(notes), input_hw=static_hw(onnx.load(str(out))))


# classifier heads: a flattened feature map feeds a fixed-size matrix
FIXED_SHAPE_OPS = {"Flatten", "Gemm"}


def runtime_refusal(message: str, limit: int = 220) -> str:
    """onnxruntime's refusal in a sentence: the node it stopped at and its status, without the
    C++ source location and signature (`while running Reshape node. Name:'R' Status Message:
    /onnxruntime_src/...h:91 onnxruntime::ReshapeHelper::ReshapeHelper(...) The input tensor
    cannot be reshaped ...` -> `Reshape node 'R': The input tensor cannot be reshaped ...`)."""
    msg = " ".join(message.split())
    node = re.search(r"while running (\w+) node\. Name:'([^']*)'", msg)
    status = msg.split("Status Message:", 1)[-1].strip()
    # drop "path/file.h:91 ns::Class::Method(args...)" ahead of the sentence
    status = re.sub(r"^\S+:\d+ \S+?\(.*?\)(?: const)? ", "", status)
    status = re.sub(r"^[^.]* was false\. ", "", status)  # the failed assertion, in C++
    head = f"{node.group(1)} node '{node.group(2)}': " if node else ""
    return (head + status)[:limit]


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
    uses_calibration: bool = False

    def config(self) -> dict[str, Any]:
        return {"height_px": self.height_px, "width_px": self.width_px}

    def apply(self, model: ModelFile, out_dir: Path, inputs: PassInputs) -> PassResult:
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
            reason = runtime_refusal(str(exc))
            raise ModelError(
                f"{model.path.name}: resolution cannot change to "
                f"{self.width_px}x{self.height_px}: {reason}"
            ) from exc
        return PassResult(
            path,
            "onnx",
            (f"input {self.width_px}x{self.height_px}",),
            input_hw=(self.height_px, self.width_px),
        )


PASSES: dict[str, type] = {
    "fp16": Fp16,
    "int8-static": Int8Static,
    "int8-nncf": Int8Nncf,
    "resolution": Resolution,
    "tflite-int8": TfliteInt8,
}
__all__ = [
    "PASSES",
    "Fp16",
    "Int8Nncf",
    "Int8Static",
    "Pass",
    "PassInputs",
    "PassResult",
    "Resolution",
    "TfliteInt8",
    "chain_ok",
    "field",
    "pin_input",
]
