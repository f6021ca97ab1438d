"""The sizing search space: where a variant may run (backend targets, with OpenVINO's precision
hint), the passes an optuna trial suggests with their parameters, the chain each builds, and
the configurations tried first."""

from typing import Any

from edgeplan.sizing.passes import Fp16, Int8Nncf, Int8Static, Pass, Resolution, TfliteInt8

# Where a variant runs: a backend, optionally with OpenVINO's inference precision hint
TARGETS = ("onnxruntime", "openvino", "openvino:f32", "openvino:bf16", "openvino:fp16", "litert")


def split_target(target: str) -> tuple[str, str]:
    """`openvino:f32` -> ("openvino", "f32"); a bare backend runs at its own default."""
    name, _, precision = target.partition(":")
    return name, precision or "auto"


def suggest(trial: Any, backends: tuple[str, ...] = ()) -> tuple[str, dict[str, Any]]:
    """The search space, as an optuna trial suggests it: a pass and its parameters (full-integer
    TFLite when litert is searched)."""
    kinds = ["none", "fp16", "int8-static", "int8-nncf", "resolution"]
    kind = trial.suggest_categorical(
        "pass", kinds + (["tflite-int8"] if "litert" in backends else [])
    )
    params: dict[str, Any] = {}
    if kind == "int8-nncf":
        params = {
            "output": trial.suggest_categorical("nncf_output", ["openvino-ir", "onnx"]),
            "accuracy_aware": trial.suggest_categorical("accuracy_aware", [False, True]),
        }
    elif kind == "int8-static":
        params = {
            "method": trial.suggest_categorical("method", ["MinMax", "Percentile", "Entropy"]),
            "activation": trial.suggest_categorical("activation", ["uint8", "int8"]),
        }
    elif kind == "resolution":
        params = {"scale": trial.suggest_categorical("scale", [0.75, 0.5])}
    return kind, params


def make_chain(
    kind: str, params: dict[str, Any], height_px: int, width_px: int, max_drop: float = 0.01
) -> list[Pass]:
    if kind == "fp16":
        return [Fp16()]
    if kind == "tflite-int8":
        return [TfliteInt8()]
    if kind == "int8-static":
        return [Int8Static(**params)]
    if kind == "int8-nncf":
        aware = params.get("accuracy_aware", False)
        return [
            Int8Nncf(
                output=params.get("output", "openvino-ir"), max_drop=max_drop if aware else None
            )
        ]
    if kind == "resolution":  # multiples of 32, as strided CNNs need
        scale = params["scale"]
        return [
            Resolution(
                max(32, round(height_px * scale / 32) * 32),
                max(32, round(width_px * scale / 32) * 32),
            )
        ]
    return []


FIRST: tuple[dict[str, Any], ...] = (
    # what usually works on x86 CPUs goes first (DESIGN.md's measurements); TPE explores after
    {
        "pass": "int8-static",
        "method": "Percentile",
        "activation": "uint8",
        "backend": "onnxruntime",
    },
    {"pass": "int8-nncf", "nncf_output": "openvino-ir", "accuracy_aware": False},
    {"pass": "int8-static", "method": "Percentile", "activation": "uint8", "backend": "openvino"},
    {"pass": "int8-nncf", "nncf_output": "openvino-ir", "accuracy_aware": True},
    {"pass": "int8-static", "method": "MinMax", "activation": "uint8", "backend": "onnxruntime"},
    {"pass": "fp16", "backend": "onnxruntime"},
    {"pass": "resolution", "scale": 0.75, "backend": "onnxruntime"},
)


def ov_targets(backends: tuple[str, ...]) -> list[str]:
    """The searched targets that run an OpenVINO IR."""
    return [b for b in backends if split_target(b)[0] == "openvino"]
