"""The embedded default: an example fleet whose models come from PyPI packages and whose
accuracy data the project makes itself (no download, no ../shared)."""
