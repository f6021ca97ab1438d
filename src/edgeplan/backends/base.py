"""The backend seam: load a model -> a Session that runs inputs. Capabilities are data."""

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from edgeplan.models.files import ModelFile

Precision = Literal["auto", "f32", "bf16", "fp16"]
PerfHint = Literal["latency", "throughput"]
Device = Literal["cpu", "cuda", "tensorrt", "qnn", "coreml", "migraphx", "rocm"]


@dataclass(frozen=True)
class Capabilities:
    """What a backend can take; core code reads these, never the backend's name."""

    formats: frozenset[str]
    precisions: frozenset[str]
    devices: frozenset[str]
    op_profiling: bool
    thread_safe_run: bool
    install_hint: str


@dataclass(frozen=True)
class BackendOptions:
    """Options every backend understands; each records what it actually applied."""

    threads: int | None = None
    device: Device = "cpu"
    precision: Precision = "auto"
    performance_hint: PerfHint = "latency"
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OpTiming:
    """Measured time of one op node, averaged per inference."""

    name: str
    op_type: str
    time_ms: float


class Session(Protocol):
    """A loaded model, ready to run. `run` is thread-safe when the backend says so."""

    input_names: list[str]
    input_shapes: dict[str, list[int]]
    input_dtypes: dict[str, str]
    output_shapes: dict[str, list[int]]
    applied_options: dict[str, Any]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


class Backend(Protocol):
    """A runtime that can load models. `load` raises BackendUnavailable or ModelError."""

    name: str
    capabilities: Capabilities

    def available(self) -> tuple[bool, str]:
        """(True, version) or (False, what to install)."""
        ...

    def load(self, model: ModelFile, options: BackendOptions) -> Session: ...

    def profile_ops(
        self, model: ModelFile, options: BackendOptions, inputs: dict[str, np.ndarray], runs: int
    ) -> list[OpTiming]:
        """Per-op times from the runtime's own profiler (empty when it has none)."""
        ...
