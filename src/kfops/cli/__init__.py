"""The kfops command line (typer + rich): thin, it parses, calls the library, prints."""

from ._main import main

__all__ = ["main"]
