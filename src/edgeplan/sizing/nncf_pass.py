"""The NNCF int8 pass: post-training quantisation to an OpenVINO IR or a QDQ ONNX model, plain
or accuracy-aware (layers reverted to float until the metric holds)."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeplan.errors import ConfigError, EdgeplanError, ModelError
from edgeplan.models.files import ModelFile
from edgeplan.progress import Progress
from edgeplan.sizing.calibration import CalibrationSet
from edgeplan.sizing.pass_base import PassInputs, PassResult, prepare_onnx, static_hw


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


NNCF_OUTPUTS = ("openvino-ir", "onnx")
PROGRESS_EVERY = 25  # accuracy-control validations between progress lines (it runs ~100)


@dataclass(frozen=True)
class Int8Nncf:
    """NNCF post-training quantisation: to an OpenVINO IR (the fastest int8 path measured on
    this CPU; reads ONNX, IR and TFLite), or to a QDQ ONNX model that onnxruntime runs.
    With `max_drop`, NNCF's accuracy-aware quantisation: layers that cost the most accuracy are
    reverted to float, one group at a time, until the metric on the validation images (the
    labelled calibration tail, never the evaluation split) is within `max_drop` of the
    original's. NNCF reduces statistics per image, so calibration streams."""

    preset: str = "performance"
    subset_size: int = 100
    max_drop: float | None = None  # absolute, in the task metric's units
    output: str = "openvino-ir"
    name: str = "int8-nncf"
    takes: frozenset[str] = frozenset({"onnx", "openvino-ir", "tflite"})
    gives: str = "openvino-ir"
    uses_calibration: bool = True

    def __post_init__(self) -> None:
        if self.output not in NNCF_OUTPUTS:
            raise ConfigError(f"int8-nncf output {self.output!r}: allowed {list(NNCF_OUTPUTS)}")
        if self.output == "onnx":  # NNCF's ONNX backend quantises ONNX in place
            object.__setattr__(self, "takes", frozenset({"onnx"}))
            object.__setattr__(self, "gives", "onnx")

    @property
    def uses_validation(self) -> bool:
        """True: the validation images' labels shape the result, so they join the key."""
        return self.max_drop is not None

    def config(self) -> dict[str, Any]:
        d: dict[str, Any] = {"preset": self.preset, "subset_size": self.subset_size}
        if self.output != "openvino-ir":
            d["output"] = self.output
        if self.max_drop is not None:
            d["max_drop"] = self.max_drop
        return d

    def _load(self, model: ModelFile, cal: CalibrationSet, notes: list[str], out_dir: Path) -> Any:
        s = cal.spec
        if self.output == "onnx":  # the same preparation as onnxruntime's own int8 pass
            import onnx

            path, more = prepare_onnx(model, out_dir, s)
            notes += more
            m = onnx.load(str(path))
            for tmp in ("src.onnx", "pre.onnx"):
                (out_dir / tmp).unlink(missing_ok=True)
            return m
        import openvino as ov

        ovm = ov.Core().read_model(str(model.path))
        port = ovm.inputs[0]
        if port.get_partial_shape().is_dynamic:
            nchw = s.layout == "NCHW"
            shape = [1, 3, s.height_px, s.width_px] if nchw else [1, s.height_px, s.width_px, 3]
            ovm.reshape({port.get_any_name(): shape})
            notes.append(f"dynamic input pinned to {s.width_px}x{s.height_px} (the card's size)")
        return ovm

    def apply(self, model: ModelFile, out_dir: Path, inputs: PassInputs) -> PassResult:
        import nncf

        cal = inputs.calibration
        if not cal:
            raise ConfigError("int8-nncf needs calibration images (--data)")
        notes: list[str] = []
        src = self._load(model, cal, notes, out_dir)
        n = min(self.subset_size, len(cal))
        onnx_out = self.output == "onnx"

        def feed(x: dict[str, np.ndarray]) -> Any:
            return x if onnx_out else next(iter(x.values()))

        data = nncf.Dataset(_Ticking(cal, n, inputs.progress), feed)
        preset = getattr(nncf.QuantizationPreset, self.preset.upper())
        try:
            if self.max_drop is None:
                q = nncf.quantize(src, data, preset=preset, subset_size=n)
            else:
                q = self._accuracy_aware(src, data, preset, n, cal, inputs, notes)
        except EdgeplanError:
            raise
        except Exception as exc:  # NNCF raises its own and runtime errors on graphs it cannot take
            msg = " ".join(str(exc).split())[:200]
            raise ModelError(f"{model.path.name}: NNCF cannot quantise it: {msg}") from exc
        if onnx_out:
            import onnx

            out = out_dir / "model.onnx"
            onnx.save(q, str(out))
            return PassResult(out, "onnx", tuple(notes), input_hw=static_hw(q))
        import openvino as ov

        out = out_dir / "model.xml"
        ov.save_model(q, str(out))
        return PassResult(out, "openvino-ir", tuple(notes))

    def _accuracy_aware(
        self,
        src: Any,
        data: Any,
        preset: Any,
        n: int,
        cal: CalibrationSet,
        inputs: PassInputs,
        notes: list[str],
    ) -> Any:
        import nncf

        val = inputs.validation
        if val is None:
            raise ConfigError("int8-nncf with max_drop needs labelled validation images (--data)")
        from edgeplan.backends.predict import Predictor
        from edgeplan.data.evaluate import score

        def session(model: Any) -> Any:
            if self.output == "onnx":
                import onnxruntime as ort

                from edgeplan.backends.onnxruntime_backend import OrtSession

                so = ort.SessionOptions()
                so.log_severity_level = 3
                raw = model.SerializeToString()
                return OrtSession(ort.InferenceSession(raw, so, ["CPUExecutionProvider"]), {})
            from edgeplan.backends.openvino_backend import OvSession

            return OvSession(model, {})

        calls = [0]

        def validate(model: Any, items: Any) -> float:
            calls[0] += 1
            if calls[0] == 1 or calls[0] % PROGRESS_EVERY == 0:  # one line, not one per call
                inputs.progress(f"NNCF accuracy control: validation {calls[0]}")
            picked = frozenset(Path(p) for p in items)
            return score(Predictor(session(model), val.card), val.data, picked)

        load = CalibrationSet(val.paths, cal.spec, cal.input_name)

        def to_input(p: Path) -> Any:
            x = next(iter(CalibrationSet((p,), load.spec, load.input_name)), None)
            if x is None:
                raise ModelError(f"{p}: unreadable validation image")
            return x if self.output == "onnx" else next(iter(x.values()))

        vdata = nncf.Dataset(list(val.paths), to_input)
        q = nncf.quantize_with_accuracy_control(
            src,
            data,
            vdata,
            validate,
            max_drop=self.max_drop,
            drop_type=nncf.DropType.ABSOLUTE,
            preset=preset,
            subset_size=n,
        )
        notes.append(
            f"accuracy-aware: within {self.max_drop:g} of the original on {len(val.paths)} "
            f"labelled calibration images ({calls[0]} validations)"
        )
        return q
