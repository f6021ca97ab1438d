"""Streaming calibration for onnxruntime static int8: memory bounded by one inference and a
fixed output budget, never by the number of calibration images.

onnxruntime's Percentile and Entropy calibrators keep every intermediate tensor of every image
until the end (microsoft/onnxruntime#10503, #21979: >200 GB); its strided mode
(`CalibStridedMinMax`, PR #20949) fails on a zero-size tensor with Percentile
(`zero-size array to reduction operation fmax`, seen on PP-OCRv4 det); and its MinMax
augmentation keeps every activation of a run alive (1.5 GB on PP-OCRv4 det at 640x640). So:

1. the tensors onnxruntime would calibrate (inputs and outputs of quantisable ops) are packed
   into groups of at most `group_budget_mib` (sizes from shape inference at the deployment input
   size); each group is the only set of graph outputs of its own session, and the images stream
   through it one at a time;
2. pass 1 keeps each tensor's global min/max; pass 2 (Percentile, Entropy) histograms it over
   that global range, in blocks;
3. onnxruntime's own HistogramCollector turns the histograms into thresholds, written as the
   calibration cache that `quantize_static` reads.

Because the bin edges come from the global range (from 0 for |x| in the symmetric case), the
thresholds do not depend on how the images are chunked.
"""

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
Tick = Callable[[int, int], None]
BLOCK = 1 << 20  # elements histogrammed at a time: bounds np.abs/np.histogram temporaries
METHODS = ("MinMax", "Percentile", "Entropy")
ENTROPY_BINS = 512


def op_types_to_quantize() -> list[str]:
    """The op types quantize_static calibrates and quantizes by default."""
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    return sorted(set(QLinearOpsRegistry) | set(QDQRegistry))


def tensors_to_calibrate(model: Path) -> list[str]:
    """Inputs and outputs of quantisable ops that are float tensors (not weights), in graph
    order: the rule onnxruntime's calibrators apply."""
    import onnx
    from onnx import TensorProto

    m = onnx.shape_inference.infer_shapes(onnx.load(str(model)))
    infos = {v.name: v for v in [*m.graph.value_info, *m.graph.output, *m.graph.input]}
    weights = {i.name for i in m.graph.initializer}
    ops = set(op_types_to_quantize())
    floats = {TensorProto.FLOAT, TensorProto.FLOAT16}
    out: dict[str, None] = {}
    for node in m.graph.node:
        if node.op_type not in ops:
            continue
        for name in (*node.input, *node.output):
            vi = infos.get(name)
            if (
                vi is not None
                and vi.type.HasField("tensor_type")
                and vi.type.tensor_type.elem_type in floats
                and name not in weights
            ):
                out[name] = None
    return list(out)


def _augmented(model: Any, names: list[str], path: Path) -> Path:
    """A copy of `model` whose graph outputs are exactly `names`."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    types = {v.name: v.type.tensor_type.elem_type for v in m.graph.value_info}
    types.update({o.name: o.type.tensor_type.elem_type for o in model.graph.output})
    del m.graph.output[:]
    for name in names:
        elem = types.get(name) or onnx.TensorProto.FLOAT
        m.graph.output.append(onnx.helper.make_tensor_value_info(name, elem, None))
    onnx.save(m, str(path))
    return path


def _sizes(model: Any, names: list[str]) -> dict[str, int]:
    """Bytes of each tensor from shape inference; unknown sizes count as 0 (placed first)."""
    import onnx

    infos = {v.name: v for v in [*model.graph.value_info, *model.graph.output]}
    out = {}
    for name in names:
        t = infos[name].type.tensor_type if name in infos else None
        dims = [d.dim_value if d.HasField("dim_value") else 0 for d in t.shape.dim] if t else [0]
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).itemsize if t else 4
        out[name] = int(np.prod(dims)) * itemsize if dims and all(dims) else 0
    return out


def _groups(sizes: dict[str, int], budget_bytes: int) -> list[list[str]]:
    """Pack tensors into runs whose outputs stay within the budget (a bigger tensor runs alone;
    a tensor of unknown size runs alone too)."""
    groups: list[list[str]] = [[]]
    used = 0
    for name, size in sizes.items():
        size = size or budget_bytes
        if groups[-1] and used + size > budget_bytes:
            groups.append([])
            used = 0
        groups[-1].append(name)
        used += size
    return [g for g in groups if g]


class OutputStream:
    """Hands each calibrated tensor of each image to a visitor. Tensors are packed into groups
    that fit the byte budget; each group gets its own session whose graph outputs are only that
    group (onnxruntime keeps every graph output of a run allocated, fetched or not), and the
    images are streamed once per group."""

    def __init__(self, model: Path, names: list[str], work: Path, budget_mib: float) -> None:
        import onnx

        self.model = onnx.shape_inference.infer_shapes(onnx.load(str(model)))
        self.work = work
        graph_inputs = {i.name for i in self.model.graph.input}
        self.inputs = [n for n in names if n in graph_inputs]
        outputs = [n for n in names if n not in graph_inputs]
        self.groups = _groups(_sizes(self.model, outputs), int(budget_mib * 2**20))
        log.info("calibration: %d tensors in %d output groups", len(names), len(self.groups))

    def runs(self, n_images: int) -> int:
        """Image visits per pass (for progress)."""
        return max(1, len(self.groups)) * n_images

    def visit(
        self,
        data: Iterable[dict[str, np.ndarray]],
        fn: Callable[[str, np.ndarray], None],
        tick: Callable[[int], None],
    ) -> int:
        """Call `fn(name, tensor)` for every tensor of every image; returns the images seen."""
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.log_severity_level = 3
        done, images = 0, 0
        for g, group in enumerate(self.groups or [[]]):
            sess = None
            if group:
                path = _augmented(self.model, group, self.work / "augmented_calibration.onnx")
                sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            images = 0
            for x in data:
                if g == 0:
                    for name in self.inputs:
                        fn(name, x[name])
                if sess is not None:
                    for name, arr in zip(group, sess.run(group, x), strict=True):
                        fn(name, arr)
                images += 1
                done += 1
                tick(done)
            del sess
        return images


class _MinMax:
    """Global min and max per tensor."""

    def __init__(self) -> None:
        self.lo: dict[str, float] = {}
        self.hi: dict[str, float] = {}

    def __call__(self, name: str, arr: np.ndarray) -> None:
        if arr.size == 0:
            return
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        self.lo[name] = min(lo, self.lo.get(name, lo))
        self.hi[name] = max(hi, self.hi.get(name, hi))

    def ranges(self, names: list[str]) -> dict[str, tuple[float, float]]:
        """Per tensor (min, max); (0, 0) for a tensor that was empty in every image."""
        return {n: (self.lo.get(n, 0.0), self.hi.get(n, 0.0)) for n in names}


class _Hist:
    """A fixed-edge histogram of one tensor over its global range (of |x| when `absolute`)."""

    def __init__(self, lo: float, hi: float, bins: int, absolute: bool) -> None:
        self.absolute = absolute
        self.lo, self.hi = lo, hi
        top = max(abs(lo), abs(hi))
        self.range = (0.0, top) if absolute else (-top, top)
        self.counts = np.zeros(bins, np.int64)

    def add(self, arr: np.ndarray) -> None:
        """Count a tensor's values (NaNs left out). A uniform bin index and np.bincount: the
        values all lie in the global range, so np.histogram's range mask and edge
        corrections (several passes per block) are not needed; 2.8x faster per block, and this
        pass was most of a Percentile calibration's time. A value on an edge may land one bin
        over from where np.histogram puts it (float rounding: 12 in 2^20)."""
        bins = self.counts.size
        lo, hi = self.range
        flat = arr.reshape(-1)
        if hi <= lo:  # an all-zero tensor: every value in the first bin
            self.counts[0] += int(np.count_nonzero(~np.isnan(flat)))
            return
        scale = np.float32(bins / (hi - lo))
        for i in range(0, flat.size, BLOCK):
            x = np.abs(flat[i : i + BLOCK]) if self.absolute else flat[i : i + BLOCK] - lo
            x = np.asarray(x, np.float32) * scale
            if np.isnan(x.sum()):
                x = x[~np.isnan(x)]
            idx = x.astype(np.intp)
            np.clip(idx, 0, bins - 1, out=idx)
            self.counts += np.bincount(idx, minlength=bins)

    def entry(self) -> tuple:
        """The tuple onnxruntime's HistogramCollector keeps for this tensor."""
        edges = np.linspace(self.range[0], self.range[1], self.counts.size + 1).astype(np.float32)
        lo, hi = np.array(self.lo, np.float32), np.array(self.hi, np.float32)
        if self.absolute:
            return (self.counts, edges, lo, hi)
        return (self.counts, edges, lo, hi, np.array(self.range[1], np.float32))


def streaming_ranges(
    model: Path,
    data: Iterable[dict[str, np.ndarray]],
    n_images: int,
    method: str,
    work: Path,
    *,
    percentile: float = 99.999,
    group_budget_mib: float = 128.0,
    tick: Tick = lambda _d, _t: None,
) -> Path:
    """Activation ranges by `method` (MinMax, Percentile, Entropy) with memory independent of
    `n_images`; returns the calibration cache file for quantize_static."""
    from onnxruntime.quantization.calibrate import (
        CalibrationMethod,
        HistogramCollector,
        TensorData,
        TensorsData,
        save_tensors_data,
    )

    from edgeplan.errors import ConfigError, DataError

    if method not in METHODS:
        raise ConfigError(f"calibration method {method!r}: allowed {', '.join(METHODS)}")
    names = tensors_to_calibrate(model)
    stream = OutputStream(model, names, work, group_budget_mib)
    per_pass = stream.runs(n_images)
    total = (1 if method == "MinMax" else 2) * per_pass
    minmax = _MinMax()
    if stream.visit(data, minmax, lambda k: tick(k, total)) == 0:
        raise DataError("calibration: none of the calibration images could be read")
    ranges = minmax.ranges(names)
    cache = work / "calibration.json"
    result: dict[str, object] = {}
    if method != "MinMax":
        symmetric = method == "Percentile"  # quantize_static's default per method
        # Entropy: onnxruntime's default of 128 bins leaves its KL search one candidate (the
        # full range: MinMax in disguise); 512 bins give it 193 thresholds to choose from
        bins = 2048 if symmetric else ENTROPY_BINS
        hists = {n: _Hist(*ranges[n], bins, symmetric) for n in names}
        stream.visit(data, lambda n, a: hists[n].add(a), lambda k: tick(per_pass + k, total))
        collector = HistogramCollector(
            method=method.lower(),
            symmetric=symmetric,
            num_bins=bins,
            num_quantized_bins=128,
            percentile=percentile,
            scenario="same",
        )
        collector.histogram_dict = {n: h.entry() for n, h in hists.items() if h.counts.sum()}
        result.update(collector.compute_collection_result())
    del stream
    for n, (lo, hi) in ranges.items():  # MinMax, and tensors that held no values
        result.setdefault(n, TensorData(lowest=np.float32(lo), highest=np.float32(hi)))
    save_tensors_data(TensorsData(getattr(CalibrationMethod, method), result), cache)
    return cache
