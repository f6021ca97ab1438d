"""edgeplan: decide where CV inference runs, size the model, prove it with measurements."""

__version__ = "0.1.0"
