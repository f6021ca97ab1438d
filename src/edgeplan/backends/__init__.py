"""One `Backend` protocol and an explicit registry of implementations."""

from edgeplan.backends.base import (
    Backend,
    BackendOptions,
    Capabilities,
    OpTiming,
    Session,
)
from edgeplan.backends.registry import available_backends, backend_for, get_backend

__all__ = [
    "Backend",
    "BackendOptions",
    "Capabilities",
    "OpTiming",
    "Session",
    "available_backends",
    "backend_for",
    "get_backend",
]
