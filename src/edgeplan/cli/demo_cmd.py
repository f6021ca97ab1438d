"""`edgeplan demo`: until `edgeplan plan` lands, say so plainly and show what runs today."""

from rich.console import Console

from edgeplan.backends import available_backends

console = Console()


def run_demo() -> None:
    console.print(
        "[bold]edgeplan demo[/]: planning the embedded example fleet is [yellow]not yet[/] "
        "available (it arrives with `edgeplan plan`)."
    )
    backends = available_backends()
    console.print("Installed backends: " + ", ".join(f"{k} {v}" for k, v in backends.items()))
    console.print(
        "What works today: `edgeplan characterise MODEL --json out.json` "
        "and `edgeplan records list` (see docs/characterise.md)."
    )
