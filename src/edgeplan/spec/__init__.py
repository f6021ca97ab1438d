"""Pydantic models of edgeplan's inputs (model cards now; fleet.yaml and agent config later)."""

from edgeplan.spec.fleet import Camera, CloudOption, Fleet, HardwareChoice, Site, Workload
from edgeplan.spec.loading import load_yaml_model, validation_message
from edgeplan.spec.modelcard import InputSpec, ModelCard

__all__ = [
    "Camera",
    "CloudOption",
    "Fleet",
    "HardwareChoice",
    "InputSpec",
    "ModelCard",
    "Site",
    "Workload",
    "load_yaml_model",
    "validation_message",
]
