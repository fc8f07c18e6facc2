"""Azurite, Microsoft's Azure Storage emulator (npm), serving Blob Storage on 127.0.0.1.

scripts/install-test-servers installs a pinned version into AZURITE_DIR; tests skip only
where Node.js is missing (the script installs it on Debian). Azurite checks Shared Key
signatures with its documented development account (AZURITE_ACCOUNT, AZURITE_KEY: public
values, the same in every Azurite).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.oci import free_port
from tests.helpers.processes import stop

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
#: Where scripts/install-test-servers puts Azurite (read when the tests start: they change HOME).
AZURITE_DIR = Path(os.environ.get("KFOPS_AZURITE_DIR") or Path(
    os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kfops" / "azurite")


@dataclass(frozen=True)
class Azurite:
    """A running Azurite: its Blob service URL (http://127.0.0.1:PORT/devstoreaccount1)."""

    endpoint: str
    account: str = AZURITE_ACCOUNT
    key: str = AZURITE_KEY


def azurite_blob() -> Path:
    """Azurite's Blob server script; skips the test where Node.js is missing."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed (scripts/install-test-servers installs it and "
                    "Azurite)")
    script = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
    if not script.exists():
        raise RuntimeError(f"{script} is missing: run scripts/install-test-servers")
    return script


@contextmanager
def running_azurite(folder: Path) -> Iterator[Azurite]:
    """Azurite's Blob service on a free port of 127.0.0.1 over http, data under `folder`;
    stopped (by its own handle) at the end."""
    script = azurite_blob()
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [str(script), "--blobHost", "127.0.0.1", "--blobPort", str(port),
            "--location", str(folder), "--silent",
            # Azurite reports usage to Microsoft unless told not to: tests stay on loopback.
            "--disableTelemetry"]
    env = {k: v for k, v in os.environ.items() if k != "AZURITE_DB"}  # no external database
    with (folder / "azurite.log").open("wb") as log:
        server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        _wait_until_serving(f"{endpoint}?comp=list", server)
        yield Azurite(endpoint)
    finally:
        stop(server)


def _wait_until_serving(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until any HTTP answer comes (an unsigned listing is refused: that is serving too)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"azurite-blob exited with {server.returncode}")
        try:
            with opener.open(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    raise RuntimeError(f"azurite-blob did not answer {url} within {timeout} s")
