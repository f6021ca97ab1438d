"""What every sizing pass shares: the Pass protocol, its inputs and result, the chain check, and
the helpers that pin an ONNX input to the card's deployment size."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edgeplan.errors import ConfigError
from edgeplan.models.files import ModelFile
from edgeplan.progress import Progress, no_progress
from edgeplan.sizing.calibration import CalibrationSet, Validation


@dataclass(frozen=True)
class PassResult:
    path: Path
    format: str
    notes: tuple[str, ...] = ()
    input_hw: tuple[int, int] | None = None  # a new fixed input size, for the variant's card
    layout: str | None = None  # a new input layout (a converter's NHWC), for the variant's card
    outputs_channels_last: bool = False  # outputs come channels-last: the card says so


@dataclass(frozen=True)
class PassInputs:
    """What a pass may need besides the model: streamed calibration data and a reporter."""

    calibration: CalibrationSet | None = None
    progress: Progress = no_progress
    validation: Validation | None = None  # labelled images for accuracy-aware passes


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


def static_hw(model: Any) -> tuple[int, int] | None:
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


def prepare_onnx(
    model: ModelFile, out_dir: Path, spec: Any, per_channel: bool = True
) -> tuple[Path, list[str]]:
    """An ONNX model ready to quantise: opset >= 13 (per-channel weights need it), its input
    pinned to the card's deployment size, and onnxruntime's quantisation pre-processing (shape
    inference, constant folding: subgraphs left between a DequantizeLinear and its Conv keep
    onnxruntime from fusing them into int8 kernels). Returns (path, notes)."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from edgeplan.errors import ModelError

    m = onnx.load(str(model.path))
    notes = []
    opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13 and per_channel:
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
    if pin_input(m, spec):
        notes.append(
            f"dynamic input pinned to {spec.width_px}x{spec.height_px} "
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
