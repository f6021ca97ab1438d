"""Full-integer int8 TFLite (what the Edge TPU compiler takes) from an ONNX model, with the
workload's calibration images, through onnx2tf (PyPI; it brings TensorFlow). The converter runs
as a child process, from its own environment when `EDGEPLAN_ONNX2TF` names it, so TensorFlow and
its pinned onnx never meet edgeplan's."""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgeplan.errors import ConfigError, ModelError
from edgeplan.models.files import ModelFile
from edgeplan.sizing.calibration import CalibrationSet
from edgeplan.sizing.pass_base import PassInputs, PassResult, pin_input, static_hw

CONVERTER_ENV = "EDGEPLAN_ONNX2TF"
INSTALL = (
    "pip install tensorflow-cpu==2.21.0 onnx2tf==1.28.8 onnx==1.17.0 onnx_graphsurgeon "
    "sng4onnx psutil tf_keras onnxsim (best in its own environment, as `make tflite-tools` "
    f"does), then set {CONVERTER_ENV} to its onnx2tf"
)
TIMEOUT_S = 1800.0
# onnx2tf checks its conversion on 20 sample images it would otherwise download; it reads them
# from this file in its working directory when present: we write the workload's own there.
SAMPLE_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"
OUTPUT_SUFFIX = {"int8": "_full_integer_quant.tflite", "float": "_integer_quant.tflite"}


def converter() -> str:
    """The onnx2tf executable: `EDGEPLAN_ONNX2TF`, else `onnx2tf` on PATH; else a refusal that
    says what to install."""
    named = os.environ.get(CONVERTER_ENV)
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            raise ConfigError(f"{CONVERTER_ENV}={named}: not an executable; {INSTALL}")
        return named
    found = shutil.which("onnx2tf")
    if found is None:
        raise ConfigError(f"tflite-int8 needs the onnx2tf converter: {INSTALL}")
    return found


def _nhwc(x: np.ndarray, layout: str) -> np.ndarray:
    return x.transpose(0, 2, 3, 1) if layout == "NCHW" else x


def write_calibration(cal: CalibrationSet, work: Path) -> tuple[Path, int]:
    """The calibration images, preprocessed as the card says, as one NHWC float32 .npy written
    image by image (memory-mapped: this process never holds them all), and the 20-image sample
    file onnx2tf checks its output on. Returns (path, images written)."""
    s = cal.spec
    n = len(cal)
    path = work / "calibration.npy"
    arr = np.lib.format.open_memmap(path, "w+", np.float32, (n, s.height_px, s.width_px, 3))
    sample = np.zeros((20, 128, 128, 3), np.float32)
    k = 0
    for x in cal:
        img = _nhwc(next(iter(x.values())).astype(np.float32), s.layout)[0]
        arr[k] = img
        if k < 20:
            sample[k] = cv2.resize(img, (128, 128))
        k += 1
    arr.flush()
    del arr
    if k == 0:
        raise ModelError("tflite-int8: no readable calibration image")
    if k < n:  # unreadable images were skipped: keep only what was written
        np.save(work / "calibration_k.npy", np.load(path, mmap_mode="r")[:k])
        path = work / "calibration_k.npy"
    np.save(work / SAMPLE_FILE, sample[: max(k, 1)] if k < 20 else sample)
    return path, k


def _same(onnx_shapes: list[list[int]], tflite_shapes: list[list[int]]) -> bool:
    """Shapes equal, a dynamic ONNX dimension (0) matching any size."""
    return len(onnx_shapes) == len(tflite_shapes) and all(
        len(a) == len(b) and all(x in (0, y) for x, y in zip(a, b, strict=True))
        for a, b in zip(onnx_shapes, tflite_shapes, strict=True)
    )


def output_layout(onnx_shapes: list[list[int]], tflite_shapes: list[list[int]]) -> bool:
    """True when the TFLite outputs are the ONNX outputs channels-last (onnx2tf's NHWC), False
    when they are the same (a dynamic ONNX dimension matches any size); a refusal when they are
    neither, in the same order (a decoder would misread them)."""
    if _same(onnx_shapes, tflite_shapes):
        return False
    last = [[s[0], *s[2:], s[1]] if len(s) >= 3 else list(s) for s in onnx_shapes]
    if _same(last, tflite_shapes):
        return True
    raise ModelError(
        f"tflite-int8: converted outputs {tflite_shapes} do not match the model's {onnx_shapes} "
        "in order, as they are or channels-last; its decoder would misread them"
    )


@dataclass(frozen=True)
class TfliteInt8:
    """Full-integer int8 TFLite: weights and activations int8, per-channel weights, calibrated
    on the workload's images; `io="int8"` also makes inputs and outputs int8 (the Edge TPU's
    requirement), `io="float"` keeps them float. Runs on the litert backend (which quantises the
    card's float input with the model's own scale and zero point); the note says which ops the
    Edge TPU compiler would leave to the host CPU."""

    io: str = "int8"
    name: str = "tflite-int8"
    takes: frozenset[str] = frozenset({"onnx"})
    gives: str = "tflite"
    uses_calibration: bool = True

    def __post_init__(self) -> None:
        if self.io not in OUTPUT_SUFFIX:
            raise ConfigError(f"tflite-int8 io {self.io!r}: allowed {list(OUTPUT_SUFFIX)}")

    def config(self) -> dict[str, Any]:
        return {"converter": "onnx2tf", "io": self.io, "weights": "per-channel"}

    def apply(self, model: ModelFile, out_dir: Path, inputs: PassInputs) -> PassResult:
        import onnx

        exe = converter()
        cal = inputs.calibration
        if not cal:
            raise ConfigError("tflite-int8 needs calibration images (--data)")
        m = onnx.load(str(model.path))
        notes = []
        if pin_input(m, cal.spec):
            notes.append(f"dynamic input pinned to {cal.spec.width_px}x{cal.spec.height_px}")
        hw = static_hw(m)
        onnx_out = [[d.dim_value for d in o.type.tensor_type.shape.dim] for o in m.graph.output]
        work = out_dir / "convert"
        work.mkdir()
        src = work / "model.onnx"
        onnx.save(m, str(src))
        input_name = cal.input_name
        del m
        inputs.progress("tflite-int8: writing calibration images")
        npy, n = write_calibration(cal, work)
        inputs.progress(f"tflite-int8: converting with onnx2tf ({n} calibration images)")
        cmd = [exe, "-i", str(src), "-o", str(work / "out"), "-oiqt", "-qt", "per-channel"]
        cmd += ["-iqd", self.io if self.io == "int8" else "float32"]
        cmd += ["-oqd", self.io if self.io == "int8" else "float32"]
        cmd += ["-cind", input_name, str(npy), "[[[[0.0,0.0,0.0]]]]", "[[[[1.0,1.0,1.0]]]]"]
        log = out_dir / "onnx2tf.log"
        env = {**os.environ, "PATH": f"{Path(exe).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with log.open("w") as f:
            try:
                rc = subprocess.run(
                    cmd, cwd=work, stdout=f, stderr=subprocess.STDOUT, env=env, timeout=TIMEOUT_S
                ).returncode
            except subprocess.TimeoutExpired as exc:
                raise ModelError(f"tflite-int8: onnx2tf ran past {TIMEOUT_S:.0f} s") from exc
        found = sorted((work / "out").glob(f"*{OUTPUT_SUFFIX[self.io]}"))
        if rc != 0 or not found:
            raise ModelError(f"tflite-int8: onnx2tf failed ({_last_error(log)}); log: {log}")
        out = out_dir / "model.tflite"
        shutil.move(str(found[0]), out)
        shutil.rmtree(work, ignore_errors=True)
        channels_last = self._check(out, onnx_out, notes)
        return PassResult(
            out, "tflite", tuple(notes), input_hw=hw, layout="NHWC",
            outputs_channels_last=channels_last,
        )  # fmt: skip

    def _check(self, path: Path, onnx_out: list[list[int]], notes: list[str]) -> bool:
        """Output layout against the ONNX model's, and what the Edge TPU compiler would map."""
        from ai_edge_litert.interpreter import Interpreter

        from edgeplan.models.analysis import analyse
        from edgeplan.models.files import open_model
        from edgeplan.projection.project import edge_tpu_subgraph

        it = Interpreter(model_path=str(path))
        tfl_out = [[int(v) for v in d["shape"]] for d in it.get_output_details()]
        dtypes = {np.dtype(d["dtype"]).name for d in it.get_input_details()}
        channels_last = output_layout(onnx_out, tfl_out)
        ops = analyse(open_model(path)).ops
        start, end = edge_tpu_subgraph([o.op_type for o in ops])
        notes.append(
            f"full-integer TFLite by onnx2tf ({'/'.join(sorted(dtypes))} input, per-channel "
            "weights); the Edge TPU needs it compiled by edgetpu_compiler (not on PyPI)"
        )
        if (start, end) == (0, len(ops)):
            notes.append(f"all {len(ops)} ops are ones the Edge TPU compiler maps")
        if start > 0:
            notes.append(
                f"Edge TPU: the first {start} of {len(ops)} ops ({ops[0].op_type} first) would run "
                "on the host CPU ahead of its subgraph"
            )
        if end < len(ops):
            notes.append(
                f"Edge TPU: from op {end + 1} of {len(ops)} ({ops[end].op_type}) on, the "
                "graph would run on the host CPU"
            )
        if channels_last:
            notes.append("outputs are channels-last; the card says so and they are transposed")
        return channels_last


def _last_error(log: Path) -> str:
    """The converter's last error line, without colour codes."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", x).strip() for x in log.read_text().splitlines()]
    errs = [x for x in lines if re.search(r"error|exception", x, re.I)]
    return (errs or [x for x in lines if x] or ["no output"])[-1][:200]
