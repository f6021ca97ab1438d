"""Explicit registry of backends; lookup errors list the names and what to install."""

from edgeplan.backends.base import Backend
from edgeplan.backends.litert_backend import LiteRTBackend
from edgeplan.backends.onnxruntime_backend import OnnxRuntimeBackend
from edgeplan.backends.openvino_backend import OpenVINOBackend
from edgeplan.errors import BackendUnavailable
from edgeplan.models.files import ModelFile

# Order is preference: each format's default is the first installed backend that takes it
# (ONNX -> onnxruntime, TFLite -> litert, OpenVINO IR -> openvino).
_REGISTRY: dict[str, Backend] = {
    b.name: b for b in (OnnxRuntimeBackend(), LiteRTBackend(), OpenVINOBackend())
}


def get_backend(name: str) -> Backend:
    """The backend called `name`, installed; otherwise a clear BackendUnavailable."""
    if name not in _REGISTRY:
        raise BackendUnavailable(f"unknown backend {name!r}; allowed: {sorted(_REGISTRY)}")
    backend = _REGISTRY[name]
    ok, info = backend.available()
    if not ok:
        raise BackendUnavailable(f"backend {name!r} is not installed: {info}")
    return backend


def available_backends() -> dict[str, str]:
    """name -> version for installed backends."""
    out = {}
    for name, b in _REGISTRY.items():
        ok, info = b.available()
        if ok:
            out[name] = info
    return out


def backend_for(model: ModelFile) -> Backend:
    """The first installed backend that takes this model's format."""
    for name, b in _REGISTRY.items():
        if model.format in b.capabilities.formats and b.available()[0]:
            return get_backend(name)
    takers = [n for n, b in _REGISTRY.items() if model.format in b.capabilities.formats]
    raise BackendUnavailable(
        f"no installed backend takes {model.format} models; install one of: "
        + ", ".join(_REGISTRY[n].capabilities.install_hint for n in takers)
    )
