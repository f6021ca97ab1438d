"""Where a figure came from: host fingerprint, package versions, backend options, source kind."""

import hashlib
import json
import os
import platform
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from pydantic import BaseModel, ConfigDict, Field

from edgeplan.sources import Source

# ISA flags that move inference speed; the full /proc/cpuinfo list is noise in a report.
_RELEVANT_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "asimd",
    "asimddp",
    "sve",
    "i8mm",
    "bf16",
)

_PACKAGES = (
    "edgeplan",
    "numpy",
    "onnx",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "ai-edge-litert",
    "mlcommons-loadgen",
    "opencv-python-headless",
)


class HostFingerprint(BaseModel):
    """The machine a figure was measured on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_model: str
    logical_cores: int
    physical_cores: int | None
    isa_flags: tuple[str, ...]
    ram_mib: int
    os: str
    kernel: str
    machine: str
    python: str

    @property
    def sha256(self) -> str:
        """Stable hash of the fingerprint, used in cache keys."""
        blob = json.dumps(self.model_dump(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


class Provenance(BaseModel):
    """Everything needed to say where a figure came from and to reproduce it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source
    timestamp_utc: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    host: HostFingerprint | None = None
    packages: dict[str, str] = Field(default_factory=dict)
    backend: str | None = None
    backend_options: dict[str, Any] = Field(default_factory=dict)
    model_sha256: str | None = None
    model_path: str | None = None
    harness: dict[str, Any] = Field(default_factory=dict, description="Run settings used.")
    citation: str | None = Field(None, description="URL or document for published figures.")
    notes: tuple[str, ...] = ()


def _cpu_info(root: Path) -> tuple[str, set[str]]:
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in (root / "proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if (
                key in ("model name", "Hardware", "Model") and model in ("unknown", "")
            ) or key == "model name":
                model = value.strip()
            elif key in ("flags", "Features"):
                flags |= set(value.split())
    except OSError:
        pass
    return model, flags


@lru_cache(maxsize=1)
def host_fingerprint() -> HostFingerprint:
    """Fingerprint of this host (cached: it does not change within a process)."""
    model, flags = _cpu_info(Path("/"))
    uname = platform.uname()
    return HostFingerprint(
        cpu_model=model,
        logical_cores=os.cpu_count() or 1,
        physical_cores=psutil.cpu_count(logical=False),
        isa_flags=tuple(f for f in _RELEVANT_FLAGS if f in flags),
        ram_mib=int(psutil.virtual_memory().total / 2**20),
        os=platform.platform(terse=True),
        kernel=uname.release,
        machine=uname.machine,
        python=platform.python_version(),
    )


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Installed versions of the packages that can move a measured figure."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def measured(**kwargs: Any) -> Provenance:
    """Provenance for a figure measured on this host, now."""
    return Provenance(
        source="measured", host=host_fingerprint(), packages=package_versions(), **kwargs
    )
