"""Pydantic models of edgeplan's inputs (model cards now; fleet.yaml and agent config later)."""

from edgeplan.spec.loading import load_yaml_model, validation_message
from edgeplan.spec.modelcard import InputSpec, ModelCard

__all__ = ["InputSpec", "ModelCard", "load_yaml_model", "validation_message"]
