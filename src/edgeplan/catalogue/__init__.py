"""Built-in data: hardware, model facts, published latencies, cloud prices — each row with its
source and date (from the project's reference set), overridable by a user file."""

from edgeplan.catalogue.load import Catalogue, load_catalogue

__all__ = ["Catalogue", "load_catalogue"]
