"""onnxruntime: CPU EP with thread settings; the accelerator EPs (CUDA, TensorRT, Qualcomm QNN,
Apple CoreML, AMD MIGraphX / ROCm) when the build that carries them is installed, with a clear
refusal naming what to install where it is not."""

import json
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from edgeplan.backends.base import BackendOptions, Capabilities, OpTiming
from edgeplan.backends.common import check_format, try_import
from edgeplan.errors import BackendUnavailable, ModelError
from edgeplan.models.files import ModelFile

_EP = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "qnn": "QNNExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
    "rocm": "ROCMExecutionProvider",
}
# what to install where an EP is missing (the onnxruntime build that carries it)
_EP_INSTALL = {
    "cuda": "onnxruntime-gpu on a machine with an NVIDIA GPU (CUDA 12)",
    "tensorrt": "onnxruntime-gpu with TensorRT on a machine with an NVIDIA GPU",
    "qnn": "onnxruntime-qnn on a Qualcomm Snapdragon / QCS device (Windows on Arm or Linux "
    "with the QNN SDK); QNN runs quantised (QDQ) models on the Hexagon NPU",
    "coreml": "onnxruntime on macOS or iOS (the CoreML EP ships in the Apple builds)",
    "migraphx": "onnxruntime built with MIGraphX (AMD ROCm) on a machine with an AMD GPU",
    "rocm": "onnxruntime-rocm on a machine with an AMD GPU (ROCm)",
}
# provider options by EP (the QNN EP needs its backend library named)
_EP_OPTIONS: dict[str, dict[str, str]] = {"qnn": {"backend_path": "libQnnHtp.so"}}
_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
}


def _shape(dims: list[Any]) -> list[int]:
    return [d if isinstance(d, int) else -1 for d in dims]


class OrtSession:
    """A thread-safe onnxruntime InferenceSession behind the Session protocol."""

    def __init__(self, sess: Any, applied: dict[str, Any]) -> None:
        self._sess = sess
        self.input_names = [i.name for i in sess.get_inputs()]
        self.input_shapes = {i.name: _shape(i.shape) for i in sess.get_inputs()}
        self.input_dtypes = {i.name: _DTYPES.get(i.type, i.type) for i in sess.get_inputs()}
        self.output_shapes = {o.name: _shape(o.shape) for o in sess.get_outputs()}
        self._outputs = [o.name for o in sess.get_outputs()]
        self.applied_options = applied

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self._outputs, self._sess.run(self._outputs, inputs), strict=True))

    def end_profiling(self) -> str:
        return self._sess.end_profiling()


class OnnxRuntimeBackend:
    name = "onnxruntime"
    capabilities = Capabilities(
        formats=frozenset({"onnx"}),
        precisions=frozenset({"auto", "f32"}),
        devices=frozenset(_EP),
        op_profiling=True,
        thread_safe_run=True,
        install_hint="pip install 'edgeplan[onnxruntime]' (onnxruntime-gpu for CUDA/TensorRT)",
    )

    def available(self) -> tuple[bool, str]:
        mod, info = try_import("onnxruntime", "onnxruntime")
        if mod is None:
            return False, self.capabilities.install_hint
        return True, getattr(mod, "__version__", info)

    def _session(self, model: ModelFile, options: BackendOptions, profile_dir: str | None):
        check_format(self.name, self.capabilities, model)
        ok, hint = self.available()
        if not ok:
            raise BackendUnavailable(hint)
        import onnxruntime as ort

        if options.precision not in self.capabilities.precisions:
            raise BackendUnavailable(
                f"onnxruntime runs the model's own precision; --precision {options.precision} "
                "needs a converted variant (fp16 pass) or the openvino backend"
            )
        ep = _EP[options.device]
        if ep not in ort.get_available_providers():
            raise BackendUnavailable(
                f"onnxruntime has no {ep} here (available: {ort.get_available_providers()}); "
                f"install {_EP_INSTALL.get(options.device, 'the onnxruntime build with it')}"
            )
        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        spinning = str(options.extra.get("allow_spinning", "0"))
        # Spinning makes 2-thread latency jump between runs on small VMs: off unless asked.
        so.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        if options.threads:
            so.intra_op_num_threads = options.threads
            so.inter_op_num_threads = 1
        if profile_dir:
            so.enable_profiling = True
            so.profile_file_prefix = str(Path(profile_dir) / "ort")
        opts = _EP_OPTIONS.get(options.device)
        primary: Any = (ep, opts) if opts else ep
        providers = [ep] if ep == "CPUExecutionProvider" else [primary, "CPUExecutionProvider"]
        try:
            sess = ort.InferenceSession(str(model.path), so, providers=providers)
        except Exception as exc:  # ort raises its own Fail/InvalidGraph types
            raise ModelError(f"{model.path}: onnxruntime cannot load it: {exc}") from exc
        applied = {
            "execution_provider": sess.get_providers()[0],
            "intra_op_threads": options.threads or "default (physical cores)",
            "inter_op_threads": 1,
            "allow_spinning": spinning,
            "graph_optimization": "ORT_ENABLE_ALL",
            "inference_precision": "model's own",
        }
        return OrtSession(sess, applied)

    def load(self, model: ModelFile, options: BackendOptions) -> OrtSession:
        return self._session(model, options, None)

    def profile_ops(
        self, model: ModelFile, options: BackendOptions, inputs: dict[str, np.ndarray], runs: int
    ) -> list[OpTiming]:
        """onnxruntime's profiler: kernel time per node, averaged over `runs` after one warm-up."""
        with tempfile.TemporaryDirectory() as tmp:
            sess = self._session(model, options, tmp)
            sess.run(inputs)
            for _ in range(runs):
                sess.run(inputs)
            events = json.loads(Path(sess.end_profiling()).read_text())
        totals: dict[tuple[str, str], float] = defaultdict(float)
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for ev in events:
            if ev.get("cat") != "Node" or not ev.get("name", "").endswith("_kernel_time"):
                continue
            key = (ev["name"].removesuffix("_kernel_time"), ev.get("args", {}).get("op_name", "?"))
            totals[key] += ev["dur"] / 1000.0
            counts[key] += 1
        # counts include the warm-up run: average over what was recorded per node
        return [OpTiming(n, t, totals[(n, t)] / counts[(n, t)]) for (n, t) in totals]
