"""Model facts (parameters, MACs, kernel mix) of catalogue models that publish latencies but not
their cost, by static analysis of the architecture definitions in `keras.applications`.

The Coral benchmark table times models (Inception v3, Inception-ResNet v2, ResNet v1/v2 at 299,
VGG) whose MACs it does not give. Their architectures ship with Keras; built with
`weights=None` (nothing is downloaded), their layers give every convolution's shape. MACs are
counted per output element: k x k x Cin/groups for Conv2D, k x k for DepthwiseConv2D, Cin for
Dense; parameters are Keras's own count. Run in the TensorFlow environment (`make
tflite-tools`):

    .venv-tflite/bin/python benchmarks/keras_model_facts.py [--json OUT]

It prints a table and, with --json, writes {model_id: {params_m, gmacs, kernels,
gmacs_by_kernel, source}}, the figures committed to the catalogue's models.csv."""

import argparse
import json
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# catalogue id -> (keras.applications constructor, input side, constructor kwargs)
MODELS: dict[str, tuple[str, int, dict[str, Any]]] = {
    "inception_v3_299": ("InceptionV3", 299, {}),
    "inception_resnet_v2_299": ("InceptionResNetV2", 299, {}),
    "resnet50_v1_299": ("ResNet50", 299, {}),
    "resnet50_v2_299": ("ResNet50V2", 299, {}),
    "resnet152_v2_299": ("ResNet152V2", 299, {}),
    "vgg16_224": ("VGG16", 224, {}),
    "vgg19_224": ("VGG19", 224, {}),
}


def _macs(layer: Any) -> tuple[str, int]:
    """(kernel class, MACs) of one layer; ("", 0) for layers without multiply-accumulates."""
    kind = type(layer).__name__
    out = layer.output.shape
    n_out = 1
    for d in out[1:]:
        n_out *= int(d)
    if kind == "DepthwiseConv2D":
        kh, kw = layer.kernel_size
        return "depthwise", n_out * kh * kw
    if kind == "Conv2D":
        kh, kw = layer.kernel_size
        cin = int(layer.input.shape[-1]) // layer.groups
        return ("pointwise" if kh * kw == 1 else "conv"), n_out * kh * kw * cin
    if kind == "Dense":
        return "gemm", n_out * int(layer.input.shape[-1])
    return "", 0


def facts(model_id: str) -> dict[str, Any]:
    import keras

    ctor, side, kwargs = MODELS[model_id]
    model = getattr(keras.applications, ctor)(
        weights=None, input_shape=(side, side, 3), include_top=True, **kwargs
    )
    by_kernel: dict[str, int] = {}
    for layer in model.layers:
        cls, macs = _macs(layer)
        if macs:
            by_kernel[cls] = by_kernel.get(cls, 0) + macs
    tags = sorted(k for k in ("depthwise",) if by_kernel.get(k))
    version = keras.__version__
    keras.backend.clear_session()
    return {
        "params_m": round(model.count_params() / 1e6, 3),
        "gmacs": round(sum(by_kernel.values()) / 1e9, 3),
        "gmacs_by_kernel": {k: round(v / 1e9, 4) for k, v in sorted(by_kernel.items())},
        "kernels": ";".join(tags) or "none",
        "source": f"keras.applications.{ctor} (Keras {version}) at {side}x{side}, weights=None, "
        "static count by benchmarks/keras_model_facts.py",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("models", nargs="*", default=list(MODELS), help="catalogue ids")
    args = ap.parse_args()
    rows = {m: facts(m) for m in args.models}
    print(f"{'model':26s} {'params M':>9s} {'GMACs':>8s}  by kernel")
    for m, f in rows.items():
        print(f"{m:26s} {f['params_m']:9.3f} {f['gmacs']:8.3f}  {f['gmacs_by_kernel']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
