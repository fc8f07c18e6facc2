"""Run the kfops CLI in this process, as an administrator would from a shell."""

from __future__ import annotations

import contextlib
import io

from kfops.cli import main


def kfops(*argv: str) -> tuple[int, str, str]:
    """`kfops ARGV`: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()
