"""Entry point: run the app, map kfops errors to messages and exit codes."""

from __future__ import annotations

import sys

import click

from kfops.errors import KfopsError

from ._app import app
from ._output import fail


def main(argv: list[str] | None = None) -> int:
    """Run `kfops`; returns the exit code (0, 1, 2 or 3)."""
    try:
        app(args=argv, standalone_mode=False)
    except KfopsError as error:
        fail(error.lines())
        return error.exit_code
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as error:
        error.show()
        return 2
    except click.exceptions.Abort:
        fail(["aborted"])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
