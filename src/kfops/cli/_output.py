"""Printing: rich for people on stderr/stdout, JSON for scripts, errors as plain lines."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")


def warn(lines: list[str]) -> None:
    """Warnings on stderr, one per line."""
    for line in lines:
        err.print(f"[yellow]warning:[/] {line}", markup=True)


def fail(lines: list[str]) -> None:
    """An error on stderr, one problem per line, no traceback."""
    if not lines:
        return
    err.print(f"[red]error:[/] {escape(lines[0])}" if len(lines) == 1 else "[red]error:[/]",
              markup=True)
    if len(lines) > 1:
        for line in lines:
            err.print(f"  {line}", markup=False)
