"""Static analysis of a model graph: per op and in total, parameters, MACs and bytes.

MACs are counted for the ops that dominate CNN inference (convolutions, matrix products);
other ops count 0 MACs but their bytes, so memory- and overhead-bound ops still show up.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from edgeplan.models.files import ModelFile


@dataclass
class OpStat:
    """Static cost of one op (node) in the graph."""

    name: str
    op_type: str
    macs: int = 0
    weight_bytes: int = 0
    activation_bytes: int = 0  # input activations read + outputs written
    activation_elems: int = 0  # the same activations in elements (the same at any precision)
    kernel: str = ""  # its kernel class where the analyser knows it (projection/kernels.py)
    # an op a converter to a static, channels-last format (onnx2tf to TFLite) drops: a
    # Transpose between NCHW and NHWC, or shape arithmetic on static shapes, folded to constants
    converted_away: bool = False
    # the tensors it reads and writes (graph edges: the longest path through the graph)
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


@dataclass
class StaticAnalysis:
    """Totals and per-op figures; `notes` says what could not be counted."""

    params: int
    weight_bytes: int
    macs: int
    activation_bytes: int
    peak_activation_bytes: int
    input_shapes: dict[str, list[int]]
    ops: list[OpStat] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def by_op_type(self) -> dict[str, dict[str, int]]:
        """MACs and bytes summed per op type."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for op in self.ops:
            row = out[op.op_type]
            row["count"] += 1
            row["macs"] += op.macs
            row["bytes"] += op.weight_bytes + op.activation_bytes
        return {k: dict(v) for k, v in out.items()}

    def summary(self) -> dict[str, Any]:
        """Totals for a record (per-op detail stays out of the JSON)."""
        d = asdict(self)
        d.pop("ops")
        d["gmacs"] = round(self.macs / 1e9, 4)
        d["params_m"] = round(self.params / 1e6, 4)
        return d


def analyse(model: ModelFile, input_hw: tuple[int, int] | None = None) -> StaticAnalysis:
    """Static analysis by format; `input_hw` pins dynamic spatial dims."""
    if model.format == "onnx":
        from edgeplan.models.analysis_onnx import analyse_onnx

        return analyse_onnx(model.path, input_hw)
    if model.format == "tflite":
        from edgeplan.models.analysis_tflite import analyse_tflite

        return analyse_tflite(model.path)
    from edgeplan.models.analysis_ir import analyse_ir

    return analyse_ir(model.path)
