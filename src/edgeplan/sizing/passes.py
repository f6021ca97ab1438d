"""Sizing passes. Each is a typed unit: model in -> model out, declaring the formats it takes and
gives, with its config; `chain_ok` checks a chain before anything runs."""

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgeplan.errors import ConfigError, ModelError
from edgeplan.models.files import ModelFile
from edgeplan.progress import Progress, no_progress
from edgeplan.sizing.calibration import CalibrationSet


@dataclass(frozen=True)
class PassResult:
    path: Path
    format: str
    notes: tuple[str, ...] = ()
    input_hw: tuple[int, int] | None = None  # a new fixed input size, for the variant's card


@dataclass(frozen=True)
class PassInputs:
    """What a pass may need besides the model: streamed calibration data and a reporter."""

    calibration: CalibrationSet | None = None
    progress: Progress = no_progress


class Pass(Protocol):
    """Model in -> model out. Attributes are read-only (passes are frozen dataclasses)."""

    @property
    def name(self) -> str: ...

    @property
    def takes(self) -> frozenset[str]:
        """Formats this pass accepts."""
        ...

    @property
    def gives(self) -> str:
        """Format it produces."""
        ...

    @property
    def uses_calibration(self) -> bool:
        """True: the calibration set's hash joins the variant key."""
        ...

    def config(self) -> dict[str, Any]: ...

    def apply(self, model: ModelFile, out_dir: Path, inputs: PassInputs) -> PassResult: ...


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


def _static_hw(model: Any) -> tuple[int, int] | None:
    """(H, W) of an ONNX model's first 4-D input when both are fixed, else None."""
    init = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        dims = inp.type.tensor_type.shape.dim
        if inp.name in init or len(dims) != 4:
            continue
        vals = [d.dim_value if d.HasField("dim_value") else 0 for d in dims]
        h, w = (vals[1], vals[2]) if vals[3] == 3 else (vals[2], vals[3])
        return (h, w) if h > 0 and w > 0 else None
    return None


def pin_input(model: Any, spec: Any) -> bool:
    """Give dynamic input dimensions the card's deployment size (batch 1); True if changed.
    Calibration then runs at the size the model is deployed at, and shape inference works."""
    init = {i.name for i in model.graph.initializer}
    changed = False
    for inp in model.graph.input:
        dims = inp.type.tensor_type.shape.dim
        if inp.name in init or len(dims) != 4:
            continue
        want = (
            [1, 3, spec.height_px, spec.width_px]
            if spec.layout == "NCHW"
            else [1, spec.height_px, spec.width_px, 3]
        )
        for d, v in zip(dims, want, strict=True):
            if not d.HasField("dim_value") or d.dim_value <= 0:
                d.dim_value = v
                changed = True
    return changed


def fit_calibration(cal: CalibrationSet, hw: tuple[int, int] | None) -> CalibrationSet:
    """The calibration set at the model's fixed input size (a resized parent changes it)."""
    if hw is None or hw == (cal.spec.height_px, cal.spec.width_px):
        return cal
    spec = cal.spec.model_copy(update={"height_px": hw[0], "width_px": hw[1]})
    return CalibrationSet(cal.paths, spec, cal.input_name)


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

    def _prepare(self, model: ModelFile, out_dir: Path, cal: CalibrationSet) -> tuple[Path, list]:
        """Opset >= 13 for per-channel, input pinned to the deployment size, pre-processed."""
        import onnx
        from onnxruntime.quantization.shape_inference import quant_pre_process

        m = onnx.load(str(model.path))
        notes = []
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
            notes.append(f"converted opset {opset} -> 13 for per-channel quantisation")
        if pin_input(m, cal.spec):
            notes.append(
                f"dynamic input pinned to {cal.spec.width_px}x{cal.spec.height_px} "
                "(the card's deployment size) for calibration and deployment"
            )
        src = out_dir / "src.onnx"
        onnx.save(m, str(src))
        del m
        pre = out_dir / "pre.onnx"
        try:
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
            return pre, notes
        except Exception as exc:  # odd graphs: quantise the original
            notes.append(f"pre-processing skipped ({type(exc).__name__})")
            return src, notes

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
        src, notes = self._prepare(model, out_dir, inputs.calibration)
        src_model = onnx.load(str(src), load_external_data=False)
        cal = fit_calibration(inputs.calibration, _static_hw(src_model))
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
        return PassResult(out, "onnx", tuple(notes), input_hw=_static_hw(onnx.load(str(out))))


class _Ticking:
    """A re-iterable dataset that reports each item it hands out."""

    def __init__(self, cal: CalibrationSet, n: int, progress: Progress) -> None:
        self.cal, self.n, self.progress = cal, n, progress

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        for i, x in enumerate(self.cal):
            if i >= self.n:
                return
            self.progress("NNCF statistics", i + 1, self.n)
            yield x

    def __len__(self) -> int:
        return min(self.n, len(self.cal))


@dataclass(frozen=True)
class Int8Nncf:
    """NNCF post-training quantisation to an OpenVINO IR (the fastest int8 path measured on
    this CPU); its output runs on the openvino backend. NNCF reduces statistics per image, so
    calibration streams."""

    preset: str = "performance"
    subset_size: int = 100
    name: str = "int8-nncf"
    takes: frozenset[str] = frozenset({"onnx", "openvino-ir"})
    gives: str = "openvino-ir"
    uses_calibration: bool = True

    def config(self) -> dict[str, Any]:
        return {"preset": self.preset, "subset_size": self.subset_size}

    def apply(self, model: ModelFile, out_dir: Path, inputs: PassInputs) -> PassResult:
        import nncf
        import openvino as ov

        cal = inputs.calibration
        if not cal:
            raise ConfigError("int8-nncf needs calibration images (--data)")
        ovm = ov.Core().read_model(str(model.path))
        port = ovm.inputs[0]
        notes = []
        if port.get_partial_shape().is_dynamic:
            s = cal.spec
            shape = (
                [1, 3, s.height_px, s.width_px]
                if s.layout == "NCHW"
                else [1, s.height_px, s.width_px, 3]
            )
            ovm.reshape({port.get_any_name(): shape})
            notes.append(f"dynamic input pinned to {s.width_px}x{s.height_px} (the card's size)")
        n = min(self.subset_size, len(cal))
        data = nncf.Dataset(_Ticking(cal, n, inputs.progress), lambda x: next(iter(x.values())))
        q = nncf.quantize(
            ovm,
            data,
            preset=getattr(nncf.QuantizationPreset, self.preset.upper()),
            subset_size=n,
        )
        out = out_dir / "model.xml"
        ov.save_model(q, str(out))
        return PassResult(out, "openvino-ir", tuple(notes))


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
            msg = " ".join(str(exc).split())
            running = msg.find("while running")
            reason = (msg[running:] if running >= 0 else msg)[:220]
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
    "chain_ok",
    "field",
]
