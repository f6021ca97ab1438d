"""What a published row is, before any fit: the segment it calibrates (device, its CPU, a side
framework on it, the chip configured otherwise) and the key of its metric (batch, and for a mean
no standard defines, its harness). Pure functions of the row and the catalogue."""

import re
from dataclasses import replace

from edgeplan.catalogue.load import Catalogue, Hardware, Published

CPU_FRAMEWORKS = {"tflite-cpu", "onnxruntime-cpu", "openvino-cpu", "ncnn", "mnn", "pytorch-cpu"}
# Frameworks that are not the device's native compiled path get their own segment
SIDE_FRAMEWORKS = {
    "pytorch": "pytorch",
    "onnxruntime-gpu": "onnxruntime",
    "tensorflow": "tensorflow",
    "openvino-gpu": "openvino-gpu",
}

# the same chip in another configuration, marked in a row's config: a power mode (MLPerf MaxQ),
# a host link (a USB accelerator on USB 2 moves every input, output and uncached weight over
# 480 Mbit/s)
CONFIG_SEGMENTS = {"power=maxq": "maxq", "link=usb2": "usb2"}


def segment_key(row: Published, cat: Catalogue) -> str:
    """`device` for the native path, `device:cpu` for CPU-only runs on an accelerator board,
    `device:<framework>` for other frameworks on it (PyTorch eager is not TensorRT, nor on a
    CPU what ncnn or XNNPACK make of it; an iGPU's OpenVINO is not the CPU's),
    `device:<config>` for the chip configured otherwise (CONFIG_SEGMENTS)."""
    hw = cat.hardware.get(row.device_id)
    if hw is not None and hw.kind != "cpu" and row.framework in CPU_FRAMEWORKS:
        return f"{row.device_id}:cpu"
    if row.framework in SIDE_FRAMEWORKS and hw is not None:
        return f"{row.device_id}:{SIDE_FRAMEWORKS[row.framework]}"
    config = row.config.lower().replace(" ", "")
    for mark, seg in CONFIG_SEGMENTS.items():  # the same chip configured otherwise
        if mark in config:
            return f"{row.device_id}:{seg}"
    return row.device_id


# a framework name's parts that are not its runtime: the unit it ran on, its precision
_NOT_RUNTIME = ("-cpu", "-gpu", "-int8", "-fp16", "-fp32")
_SAME_RUNTIME = {"litert": "tflite"}  # LiteRT is TensorFlow Lite renamed
# the runtime edgeplan's agent runs (backends/onnxruntime_backend.py): a segment whose rows
# hold it is projected for it
DEPLOYED_RUNTIME = "onnxruntime"


def runtime(row: Published) -> str:
    """The runtime (kernel library) a row was timed with (runtime_name of its framework). On
    one chip, runtimes differ in their kernels: Ultralytics' Raspberry Pi 5 table runs YOLO11n
    3.9x faster under ncnn than under TensorFlow Lite."""
    return runtime_name(row.framework)


def runtime_name(framework: str) -> str:
    """A framework's runtime: its name without the unit or precision in it (`tflite-cpu` and
    `litert` are `tflite`, `tensorrt-int8` is `tensorrt`)."""
    name = framework.strip().lower()
    for part in _NOT_RUNTIME:
        name = name.removesuffix(part)
    return _SAME_RUNTIME.get(name, name)


def segment_hardware(key: str, cat: Catalogue) -> Hardware:
    device, _, seg = key.partition(":")
    hw = cat.hardware[device]
    if seg == "cpu":  # the board's host CPU: no published peak
        return replace(
            hw,
            id=key,
            name=f"{hw.name} (CPU only)",
            kind="cpu",
            int8_tops=None,
            fp16_tflops=None,
            fp32_tflops=None,
            mem_bw_gbs=None,
            note="CPU segment of " + hw.id,
        )
    return replace(hw, id=key) if seg else hw


def weight_cache(segment: str, cat: Catalogue) -> float:
    """MB of parameters the segment's chip caches on-chip (its deployment rule), in any of its
    configurations; none for a board's CPU or another framework on it."""
    device, _, seg = segment.partition(":")
    if seg and seg not in CONFIG_SEGMENTS.values():
        return 0.0
    rule = cat.rule(cat.hardware[device])
    return rule.weight_cache_mb if rule else 0.0


# metrics no standard defines: what a mean holds besides the model (image decoding, Python,
# pre-processing) is its harness's, so each source's gets its own overhead; a standard's own
# harness (MLPerf LoadGen) defines what its mean holds, the same on every submission
HARNESS_KEYED = {"latency_ms_mean"}
STANDARD_HARNESSES = ("github.com/mlcommons/",)


def harness(row: Published) -> str:
    """The published row's harness, named by its source: the first URL's host and path (a
    GitHub repository for github.com), e.g. `github.com/aallan/benchmarking-ml-on-the-edge`;
    with `harness=NAME` in the row's config where one source times through several (trtutils'
    table: its own runner and the Ultralytics wrapper), `...trtutils:ultralytics`."""
    url = (row.source.split() or [""])[0].split("://", 1)[-1].removeprefix("www.")
    parts = [p for p in url.split("/") if p and "@" not in p]
    name = "/".join(parts[:3] if parts[:1] == ["github.com"] else parts)
    named = re.search(r"harness=([\w.-]+)", row.config)
    return f"{name}:{named.group(1)}" if named else name


def metric_key(row: Published) -> str:
    """A metric with its batch (batch-1 and batch-8 throughput differ on multi-context NPUs)
    and, for a mean no standard defines, its harness (`latency_ms_mean[harness]@b1`)."""
    source = harness(row)
    keyed = row.metric in HARNESS_KEYED and not source.startswith(STANDARD_HARNESSES)
    metric = f"{row.metric}[{source}]" if keyed else row.metric
    return f"{metric}@b{row.batch}" if row.batch else metric


def family(metric: str) -> str:
    return "throughput" if metric == "throughput_fps" else "latency"
