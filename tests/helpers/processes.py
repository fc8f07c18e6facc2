"""Servers the tests start as child processes."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    """Terminate a server this test run started (by its own handle); kill it after `grace` s."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
