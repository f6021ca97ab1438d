"""OpenVINO CPU: inference-precision hint (f32 / bf16 / auto) and performance hint exposed."""

import re
import threading
from typing import Any

import numpy as np

from edgeplan.backends.base import BackendOptions, Capabilities, OpTiming
from edgeplan.backends.common import check_format, try_import
from edgeplan.errors import BackendUnavailable, ModelError
from edgeplan.models.files import ModelFile

_PRECISION = {"f32": "f32", "bf16": "bf16", "fp16": "f16"}


def ov_reason(exc: BaseException) -> str:
    """OpenVINO's error without its C++ trail: it prefixes the message with one `Exception from
    src/...cpp:N:` line per frame and `Check '...' failed at ...:` lines; some raise with no
    message at all, which then says so instead of ending the sentence with a colon."""
    trail = re.compile(r"(Exception from |Check '.*' failed at )")
    kept = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not trail.match(ln)]
    return " ".join(kept) or f"{type(exc).__name__} with no message"


def port_name(port: Any) -> str:
    """A port's tensor name as the source graph had it: OpenVINO keeps several names per tensor
    (e.g. '330' and 'cls_8'); prefer a non-numeric one, deterministically."""
    names = sorted(port.get_names())
    named = [n for n in names if not n.isdigit()]
    return (named or names or [port.get_any_name()])[0]


def _precision_name(t: Any) -> str:
    """OpenVINO element type -> short name (bf16, f32, f16)."""
    name = t.get_type_name() if hasattr(t, "get_type_name") else str(t)
    return {"bf16": "bf16", "f32": "f32", "f16": "f16"}.get(name, name)


class OvSession:
    """A compiled model with one infer request per thread (requests are not thread-safe)."""

    def __init__(self, compiled: Any, applied: dict[str, Any]) -> None:
        self._compiled = compiled
        self._local = threading.local()
        self.input_names = [port_name(p) for p in compiled.inputs]
        self.input_shapes = {
            port_name(p): [d.get_length() if d.is_static else -1 for d in p.get_partial_shape()]
            for p in compiled.inputs
        }
        self.input_dtypes = {
            port_name(p): p.get_element_type().to_dtype().name for p in compiled.inputs
        }
        self.output_shapes = {
            port_name(p): [d.get_length() if d.is_static else -1 for d in p.get_partial_shape()]
            for p in compiled.outputs
        }
        self._out_names = [port_name(p) for p in compiled.outputs]
        self.applied_options = applied

    def _request(self) -> Any:
        req = getattr(self._local, "req", None)
        if req is None:
            req = self._local.req = self._compiled.create_infer_request()
        return req

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        req = self._request()
        # share_inputs: no copy of the input (0.6-1 ms for a 352x352 frame on this CPU); the
        # caller's arrays are not modified during infer, so sharing is safe.
        req.infer(inputs, share_inputs=True)
        return {n: req.get_output_tensor(i).data.copy() for i, n in enumerate(self._out_names)}

    def profiling_info(self) -> list[Any]:
        return self._request().get_profiling_info()


class OpenVINOBackend:
    name = "openvino"
    capabilities = Capabilities(
        formats=frozenset({"onnx", "openvino-ir", "tflite"}),
        precisions=frozenset({"auto", "f32", "bf16", "fp16"}),
        devices=frozenset({"cpu"}),
        op_profiling=True,
        thread_safe_run=True,
        install_hint="pip install 'edgeplan[openvino]'",
    )

    def available(self) -> tuple[bool, str]:
        mod, info = try_import("openvino", "openvino")
        return (True, info) if mod is not None else (False, self.capabilities.install_hint)

    def _compile(self, model: ModelFile, options: BackendOptions, perf_count: bool) -> OvSession:
        check_format(self.name, self.capabilities, model)
        if not self.available()[0]:
            raise BackendUnavailable(self.capabilities.install_hint)
        if options.device != "cpu":
            raise BackendUnavailable(f"openvino backend runs on cpu only; got {options.device}")
        import openvino as ov

        core = ov.Core()
        config: dict[str, Any] = {
            "PERFORMANCE_HINT": options.performance_hint.upper(),
            "PERF_COUNT": perf_count,
        }
        if options.threads:
            config["INFERENCE_NUM_THREADS"] = options.threads
        if options.precision != "auto":
            config["INFERENCE_PRECISION_HINT"] = _PRECISION[options.precision]
        try:
            compiled = core.compile_model(core.read_model(str(model.path)), "CPU", config)
        except Exception as exc:  # openvino raises RuntimeError for bad graphs and properties
            raise ModelError(f"{model.path}: openvino cannot compile it: {ov_reason(exc)}") from exc
        applied = {
            "device": "CPU",
            "performance_hint": options.performance_hint.upper(),
            "inference_num_threads": compiled.get_property("INFERENCE_NUM_THREADS"),
            "inference_precision": _precision_name(
                compiled.get_property("INFERENCE_PRECISION_HINT")
            ),
            "precision_requested": options.precision,
            "num_streams": str(compiled.get_property("NUM_STREAMS")),
        }
        return OvSession(compiled, applied)

    def load(self, model: ModelFile, options: BackendOptions) -> OvSession:
        return self._compile(model, options, perf_count=False)

    def profile_ops(
        self, model: ModelFile, options: BackendOptions, inputs: dict[str, np.ndarray], runs: int
    ) -> list[OpTiming]:
        """OpenVINO per-layer counters (real_time), averaged over `runs` after one warm-up."""
        sess = self._compile(model, options, perf_count=True)
        sess.run(inputs)
        acc: dict[tuple[str, str], float] = {}
        for _ in range(runs):
            sess.run(inputs)
            for info in sess.profiling_info():
                key = (info.node_name, info.node_type)
                acc[key] = acc.get(key, 0.0) + info.real_time.total_seconds() * 1000.0
        return [OpTiming(n, t, ms / runs) for (n, t), ms in acc.items() if ms > 0]
