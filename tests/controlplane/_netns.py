"""A network namespace with only loopback, where the control plane cannot dial anything else.

Pod and Service addresses are never routable from inside it, so neither the API server nor
the controllers can reach an address outside 127.0.0.0/8 even by mistake. The tests reach
the API server through `_forward`, which listens on the host's loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path


class NetnsError(Exception):
    """A network namespace could not be made or removed."""


@cache
def available() -> bool:
    """Whether this machine lets the tests make network namespaces (root, iproute2, no seccomp
    veto); probed once by making and removing one."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        return False
    name = f"kfops-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, check=False)
    if made.returncode != 0:
        return False
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    return True


def create(name: str) -> None:
    """Make the namespace with its loopback up, and nothing else."""
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
    except NetnsError:
        delete(name)
        raise


def delete(name: str) -> None:
    """Remove the namespace (a no-op when it is gone)."""
    if Path(f"/run/netns/{name}").exists():
        _ip("netns", "del", name)


def wrap(name: str | None, argv: list[str]) -> list[str]:
    """The command line that runs argv inside the namespace (argv itself without one).

    `ip netns exec` execs argv in place, so the pid the caller gets is argv's own.
    """
    return argv if name is None else ["ip", "netns", "exec", name, *argv]


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip()}")
