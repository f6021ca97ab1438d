"""One error family with actionable messages; the CLI maps each class to an exit code."""


class EdgeplanError(Exception):
    """Base of every error edgeplan raises on purpose. The message tells the user what to do."""

    exit_code = 1


class ConfigError(EdgeplanError):
    """A config or model-card value is wrong; the message names the YAML path and allowed values."""

    exit_code = 2


class ModelError(EdgeplanError):
    """A model file is missing, corrupt or in a format that cannot be handled."""

    exit_code = 3


class BackendUnavailable(EdgeplanError):
    """A backend's package is not installed, or it cannot take this model/option."""

    exit_code = 4


class DataError(EdgeplanError):
    """Input images or video cannot be read."""

    exit_code = 5


class StoreError(EdgeplanError):
    """The records store cannot be opened or a record is not found."""

    exit_code = 6
