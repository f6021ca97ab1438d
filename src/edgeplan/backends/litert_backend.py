"""LiteRT (ai-edge-litert): float and fully-quantised TFLite models on the CPU (XNNPACK)."""

import threading
from typing import Any

import numpy as np

from edgeplan.backends.base import BackendOptions, Capabilities, OpTiming
from edgeplan.backends.common import check_format, try_import
from edgeplan.errors import BackendUnavailable, ModelError
from edgeplan.models.files import ModelFile


class LiteRTSession:
    """One interpreter; runs are serialised by a lock because interpreters are not thread-safe."""

    def __init__(self, interp: Any, applied: dict[str, Any]) -> None:
        self._it = interp
        self._lock = threading.Lock()
        ins, outs = interp.get_input_details(), interp.get_output_details()
        self._in = {d["name"]: d["index"] for d in ins}
        self._out = [(d["name"], d["index"]) for d in outs]
        # quantised outputs are dequantised (real = scale * (q - zero_point)) so every decoder
        # sees real values; (0.0, 0) means "not quantised"
        self._deq = {d["name"]: d["quantization"] for d in outs if d["quantization"][0] != 0.0}
        self.input_names = [d["name"] for d in ins]
        self.input_shapes = {d["name"]: [int(x) for x in d["shape"]] for d in ins}
        self.input_dtypes = {d["name"]: np.dtype(d["dtype"]).name for d in ins}
        self.input_quantization = {d["name"]: d["quantization"] for d in ins}
        # a float tensor fed to an int8/uint8 input is quantised with the input's own scale and
        # zero point (q = round(x / scale) + zero_point), as the converter calibrated it
        self._q = {
            d["name"]: (d["quantization"], np.dtype(d["dtype"]))
            for d in ins
            if d["quantization"][0] != 0.0 and np.dtype(d["dtype"]).kind in "iu"
        }
        self.output_shapes = {d["name"]: [int(x) for x in d["shape"]] for d in outs}
        self.applied_options = applied

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with self._lock:
            for name, arr in inputs.items():
                q = self._q.get(name)
                if q is not None and arr.dtype.kind == "f":
                    (scale, zero), dt = q
                    info = np.iinfo(dt)
                    arr = np.clip(np.rint(arr / scale) + zero, info.min, info.max).astype(dt)
                self._it.set_tensor(self._in[name], arr)
            self._it.invoke()
            out = {name: self._it.get_tensor(idx) for name, idx in self._out}
        for name, (scale, zero) in self._deq.items():
            out[name] = (out[name].astype(np.float32) - zero) * scale
        return out


class LiteRTBackend:
    name = "litert"
    capabilities = Capabilities(
        formats=frozenset({"tflite"}),
        precisions=frozenset({"auto"}),
        devices=frozenset({"cpu"}),
        op_profiling=False,
        thread_safe_run=False,
        install_hint="pip install 'edgeplan[litert]'",
    )

    def available(self) -> tuple[bool, str]:
        mod, info = try_import("ai_edge_litert.interpreter", "ai-edge-litert")
        return (True, info) if mod is not None else (False, self.capabilities.install_hint)

    def load(self, model: ModelFile, options: BackendOptions) -> LiteRTSession:
        check_format(self.name, self.capabilities, model)
        if not self.available()[0]:
            raise BackendUnavailable(self.capabilities.install_hint)
        if options.device != "cpu" or options.precision not in self.capabilities.precisions:
            raise BackendUnavailable(
                "litert runs TFLite models as quantised/converted, on the CPU only "
                f"(got device={options.device}, precision={options.precision})"
            )
        from ai_edge_litert.interpreter import Interpreter

        try:
            interp = Interpreter(model_path=str(model.path), num_threads=options.threads)
            interp.allocate_tensors()
        except Exception as exc:  # litert raises ValueError/RuntimeError on bad flatbuffers
            raise ModelError(f"{model.path}: litert cannot load it: {exc}") from exc
        in_dtype = np.dtype(interp.get_input_details()[0]["dtype"]).name
        applied = {
            "num_threads": options.threads or "default",
            "delegate": "XNNPACK (default)",
            "inference_precision": "int8" if in_dtype in ("uint8", "int8") else "float",
            "outputs": "quantised outputs dequantised to float32",
        }
        return LiteRTSession(interp, applied)

    def profile_ops(
        self, model: ModelFile, options: BackendOptions, inputs: dict[str, np.ndarray], runs: int
    ) -> list[OpTiming]:
        """The Python LiteRT API exposes no per-op profiler: nothing is invented."""
        return []
