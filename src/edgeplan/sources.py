"""Where a figure came from: the one vocabulary records, plans and reports tag figures with
(precedence between them lives in records/precedence.py)."""

from typing import Literal

Source = Literal[
    "measured",
    "measured-on-device",
    "measured-in-production",
    "projected",
    "published",
    "assumed",
]
