"""Time until `kfops` says what is wrong: a cluster that is not there, a workload that cannot start.

Issue 11's goals:

  kfops apply | status | plan against              exit 1 within 5 s, naming server and context,
    a closed port on 127.0.0.1                    before anything is rendered or printed
    a host that does not resolve (*.invalid)
    a TLS certificate for another name
  kfops apply with one workload in ImagePullBackOff exit 1 after --failure-grace, not --timeout

Each case runs `kfops` as a user does (a new process, `python -m kfops.cli`), so the
times include Python's start. `--src DIR` runs another checkout's source instead
(e.g. the commit before the change, for the "before" column).

Usage (from the repository root, it uses tests.emulator and tests.helpers):
    python -m benchmarks.failfast [--trials 5] [--src ../main/src] [--skip-workload]
Prints one line per case: trials, exit codes, median and slowest seconds. Timings never go
in tests.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from tests.emulator import FaultPlan, RunningEmulator, Settings
from tests.helpers.oci import free_port
from tests.helpers.tls import wrong_name_server

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = Path(os.environ.get("KFOPS_TEST_UPSTREAM", ROOT.parent / "shared" / "upstream"))
# The platform files written here point into the upstream snapshot, outside their folders.
os.environ.setdefault("KFOPS_ALLOWED_PATHS", str(UPSTREAM))


def kubeconfig(path: Path, cluster: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": cluster}],
        "users": [{"name": "lab", "user": {"token": "t"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}]}))
    return path


def platform(folder: Path) -> Path:
    path = folder / "platform.yaml"
    path.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: lab}\n"
                    "spec:\n  target: local\n  release:\n    version: \"26.03\"\n"
                    f"    source: {UPSTREAM / 'kubeflow-manifests/26.03'}\n"
                    f"    remoteCache: {UPSTREAM / 'remote-cache'}\n")
    return path


def run(args: list[str], env: dict[str, str]) -> tuple[int, float, str]:
    """(exit code, seconds, the first line of stderr) of one `kfops` process."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "import sys; from kfops.cli import main; "
                           "sys.exit(main())", *args], env=env, capture_output=True, text=True,
                          check=False)
    lines = done.stderr.strip().splitlines()
    return done.returncode, time.monotonic() - started, " ".join(lines[:2])


def report(name: str, results: list[tuple[int, float, str]]) -> None:
    seconds = [r[1] for r in results]
    codes = sorted({r[0] for r in results})
    print(f"{name:<44} trials={len(results)} exit={codes} median={statistics.median(seconds):.2f}s"
          f" max={max(seconds):.2f}s")
    print(f"{'':<44} {results[-1][2][:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.failfast")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--src", type=Path, help="run kfops from this source folder instead")
    parser.add_argument("--skip-workload", action="store_true",
                        help="only the unreachable-cluster cases")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfops-failfast-") as scratch:
        folder = Path(scratch)
        env = {**os.environ, "HOME": str(folder / "home"),
               "KFOPS_CACHE_DIR": os.environ.get("KFOPS_CACHE_DIR", str(folder / "cache"))}
        if options.src:
            env["PYTHONPATH"] = str(options.src.resolve())
        path = platform(folder)
        with wrong_name_server(folder) as (port, cert, _):
            tls_ca = base64.b64encode(cert.read_bytes()).decode()
            unreachable(folder, path, env, options.trials, {
                "closed port": {"server": f"http://127.0.0.1:{free_port()}"},
                "host that does not resolve (.invalid)": {
                    "server": "https://api.kfops-bench.invalid:6443"},
                "TLS certificate for another name": {
                    "server": f"https://127.0.0.1:{port}", "certificate-authority-data": tls_ca},
            })
        if not options.skip_workload:
            workload(folder, path, env, options.trials)


def unreachable(folder: Path, path: Path, env: dict[str, str], trials: int,
                cases: dict[str, dict[str, str]]) -> None:
    """apply and status against each unreachable cluster: exit code and seconds."""
    for case, cluster in cases.items():
        config = kubeconfig(folder / "kubeconfig", cluster)
        for command in ("apply", "status"):
            results = [run([command, "-f", str(path), "--kubeconfig", str(config),
                            "--offline"], env) for _ in range(trials)]
            report(f"{command}: {case}", results)


def workload(folder: Path, path: Path, env: dict[str, str], trials: int) -> None:
    """apply with ml-pipeline-ui in ImagePullBackOff: the time to exit 1 and the grace."""
    grace = 5
    results = []
    for _ in range(trials):
        settings = Settings(crd_delay=0.05, workload_delay=0.1, profile_controller=True,
                            failing={"kubeflow/ml-pipeline-ui": "ImagePullBackOff"})
        with RunningEmulator(settings, FaultPlan()) as emulator:
            config = emulator.write_kubeconfig(folder / "emulator.kubeconfig")
            results.append(run(["apply", "-f", str(path), "--kubeconfig", str(config),
                                "--offline", "--failure-grace", str(grace)], env))
    report(f"apply: ImagePullBackOff, --failure-grace {grace}, --timeout 900", results)


if __name__ == "__main__":
    main()
