"""Entry point: run the app, map kfops errors to messages and exit codes."""

from __future__ import annotations

import sys

from kfops.errors import KfopsError

from ._app import app
from ._output import fail


def main(argv: list[str] | None = None) -> int:
    """Run `kfops`; returns the exit code (0 ok, 1 failed, 2 bad input, 3 changes pending)."""
    try:
        # Standalone mode: typer reports usage errors itself, with exit code 2.
        app(args=argv, prog_name="kfops")
    except KfopsError as error:
        fail(error.lines())
        return error.exit_code
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
