"""Model sizing: passes (model in -> model out), variants with lineage, and the search."""
