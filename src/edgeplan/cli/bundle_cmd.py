"""`edgeplan bundle create|sign|verify` and `edgeplan keys generate`."""

from pathlib import Path

import typer

from edgeplan.cli.output import console
from edgeplan.updates import bundle as b

app = typer.Typer(help="Signed model bundles.", no_args_is_help=True)
keys_app = typer.Typer(help="Signing keys.", no_args_is_help=True)


@app.command()
def create(
    model: Path = typer.Argument(..., help="Model file."),
    version: str = typer.Option(..., help="Version string reported by the agent."),
    out: Path = typer.Option(..., help="Bundle .tar to write."),
    card: Path | None = typer.Option(None, help="Model card (default: beside the model)."),
) -> None:
    """Pack the model, its card and a manifest of sha256 hashes."""
    b.create(model, version, out, card)
    console.print(f"wrote {out}")


@app.command()
def sign(
    bundle: Path = typer.Argument(...), key: Path = typer.Option(..., help="Ed25519 private key.")
) -> None:
    """Sign the bundle's manifest (Ed25519)."""
    b.sign(bundle, key)
    console.print(f"signed {bundle}")


@app.command()
def verify(
    bundle: Path = typer.Argument(...), pubkey: Path = typer.Option(..., help="Public key.")
) -> None:
    """Check the signature, every file's hash and the members; non-zero exit on any mismatch."""
    m = b.verify(bundle, pubkey)
    console.print(f"ok: version {m['version']}, {len(m['files'])} files, signature valid")


@keys_app.command()
def generate(out: Path = typer.Option(..., help="Directory for the key pair.")) -> None:
    """An Ed25519 private key and a public key (the public file name contains `pub`)."""
    priv, pub = b.generate_keys(out)
    console.print(f"private key {priv} (keep it off the devices), public key {pub}")
