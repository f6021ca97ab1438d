"""Thin Typer commands over the packages."""
