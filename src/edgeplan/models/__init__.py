"""Model files: format detection, hashing, static analysis, cards, pre/post-processing."""

from edgeplan.models.files import ModelFile, detect_format, open_model

__all__ = ["ModelFile", "detect_format", "open_model"]
