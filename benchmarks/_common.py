"""Shared helpers for benchmark scripts: test-data location and table printing."""

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("EDGEPLAN_TESTDATA", ROOT.parent / "shared" / "data"))


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for key in rows[0]:
        table.add_column(key)
    for row in rows:
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()))
    Console().print(table)


def print_columns(title: str, rows: list[dict[str, Any]], key: str) -> None:
    """One column per row's `key` (e.g. backend), one line per figure: fits a terminal."""
    table = Table(title=title)
    table.add_column("figure")
    for row in rows:
        table.add_column(str(row[key]))
    for field in rows[0]:
        if field == key:
            continue
        cells = [row.get(field) for row in rows]
        table.add_row(field, *(f"{v:.4g}" if isinstance(v, float) else str(v) for v in cells))
    Console().print(table)


def write_json(path: Path | None, data: Any) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))
        print(f"wrote {path}")
