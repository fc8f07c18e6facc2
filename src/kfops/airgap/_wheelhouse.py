"""kfops and every dependency as wheels, for `pip install --no-index --find-links` offline."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from kfops.errors import OperationError


def build_wheelhouse(folder: Path) -> list[Path]:
    """Build (or download) wheels of the installed kfops and its dependencies into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir",
                             str(folder), _kfops_requirement()],
                            capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob("*.whl"))
    if result.returncode != 0 or not any(w.name.startswith("kfops-") for w in wheels):
        tail = [line for line in result.stderr.splitlines()
                if line.strip() and not line.startswith("WARNING")][-3:]
        raise OperationError("cannot build the wheelhouse with pip: " + (
            " / ".join(tail) or "no kfops wheel was made"))
    return wheels


def _kfops_requirement() -> str:
    """The installed kfops: its source folder (a checkout), else the release on the index."""
    distribution = metadata.distribution("kfops")
    direct = distribution.read_text("direct_url.json")
    if direct:
        url = urlparse(json.loads(direct).get("url", ""))
        if url.scheme == "file" and Path(unquote(url.path)).is_dir():
            return unquote(url.path)
    return f"kfops=={distribution.version}"
