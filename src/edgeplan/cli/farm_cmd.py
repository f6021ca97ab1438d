"""`edgeplan farm status`: the device farm's nodes, their devices and what they run."""

import json
from pathlib import Path

import typer
from rich.table import Table

from edgeplan.cli.output import console

app = typer.Typer(help="The device farm (a Ray cluster).", no_args_is_help=True)


@app.command()
def status(
    cluster: str = typer.Option(..., help="Ray cluster address (HEAD:PORT)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the nodes as JSON here."),
) -> None:
    """Every node: alive or not, the devices it offers (device:ID resources), its CPUs and the
    tasks running on it."""
    from edgeplan.farm import nodes, running_tasks

    ns = nodes(cluster)
    running = running_tasks(cluster)
    for n in ns:
        n["running"] = running.get(n["node_id"], [])
    t = Table(title=f"farm at {cluster}")
    for c in ("node", "address", "alive", "devices", "CPUs", "running"):
        t.add_column(c)
    for n in ns:
        t.add_row(
            n["node_id"][:12],
            n["address"],
            "yes" if n["alive"] else "no",
            ", ".join(n["devices"]) or "-",
            f"{n['cpus']:g}",
            ", ".join(n["running"]) or "-",
        )
    console.print(t)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"cluster": cluster, "nodes": ns}, indent=2))
        console.print(f"wrote {json_out}")
