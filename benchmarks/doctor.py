"""Requests and wall time of `kfops doctor` on a healthy 26.03 install on the emulated API server.

Issue 17's goal: one list per kind, not one request per object; the whole run on a healthy
26.03 install in a few seconds. Baseline, in the same run on the same cluster: `kfops status`
(one GET per workload and a list of its pods: the per-object reading doctor avoids), which
checks one of doctor's rules.

Cases, each run `--trials` times on a copy of one applied cluster (the copy is fresh, so
every trial asks the API server the same questions):
  doctor, install from the cluster's record   (`kfops doctor` without -f: no render)
  doctor, install from the platform file      (`kfops doctor -f`: a cached offline render first)
  status, install from the cluster's record   the baseline
Requests are counted by the emulator (discovery and /version included); `writes` must be 0.

The emulator runs no pods for healthy workloads (tests/emulator), so the pod and event lists
are short; on a real cluster those lists grow with the pods, not the request count.

Usage (from the repository root, it uses tests.emulator):
    python -m benchmarks.doctor [--trials 5]
Prints one line per case and the ratios; timings never go in tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.emulator import ApiState, FaultPlan, RunningEmulator, Settings

from kfops.cluster import ApplyOptions, Cluster, RetryPolicy, WaitSettings
from kfops.config import load_platform
from kfops.health import RULES
from kfops.operations import InstallChoice, apply_platform, doctor_install, install_status
from kfops.render import RenderOptions

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = Path(os.environ.get("KFOPS_TEST_UPSTREAM", ROOT.parent / "shared" / "upstream"))
os.environ.setdefault("KFOPS_ALLOWED_PATHS", str(UPSTREAM))
SETTINGS = Settings(crd_delay=0.05, workload_delay=0.1, profile_controller=True,
                    profile_delay=0.1)


def platform(folder: Path) -> Path:
    path = folder / "platform.yaml"
    path.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: lab}\n"
                    "spec:\n  target: local\n  release:\n    version: \"26.03\"\n"
                    f"    source: {UPSTREAM / 'kubeflow-manifests/26.03'}\n"
                    f"    remoteCache: {UPSTREAM / 'remote-cache'}\n")
    return path


def installed(folder: Path, file: Path) -> ApiState:
    """The emulated cluster after `kfops apply` of `file`."""
    with RunningEmulator(SETTINGS, FaultPlan()) as running, \
            Cluster.connect(running.write_kubeconfig(folder / "kubeconfig")) as cluster:
        apply_platform(load_platform(file), cluster,
                       ApplyOptions(waits=WaitSettings(timeout=60, interval=0.02)),
                       render_options=RenderOptions(offline=True))
    return running.state


def measure(state: ApiState, folder: Path,
            run: Callable[[Callable[[], Cluster]], object]) -> tuple[float, int, int]:
    """(seconds, requests, writes) of one run on a fresh copy of `state`."""
    with RunningEmulator(SETTINGS, FaultPlan(), start_from=state) as running:
        kubeconfig = running.write_kubeconfig(folder / "kubeconfig")
        started = time.perf_counter()
        run(lambda: Cluster.connect(kubeconfig, retry=RetryPolicy()))
        seconds = time.perf_counter() - started
        return seconds, len(running.state.requests), len(running.non_reads())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    trials = parser.parse_args().trials
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        file = platform(folder)
        state = installed(folder, file)
        render = RenderOptions(offline=True)
        cases: dict[str, Callable[[Callable[[], Cluster]], object]] = {
            "doctor, from the cluster's record": lambda connect: doctor_install(
                InstallChoice(name="lab"), connect, RULES),
            "doctor -f platform.yaml (render + rules)": lambda connect: doctor_install(
                InstallChoice(file=file), connect, RULES, render),
            "status, from the cluster's record": lambda connect: install_status(
                InstallChoice(name="lab"), connect),
        }
        results = {}
        for name, run in cases.items():
            measured = [measure(state, folder, run) for _ in range(trials)]
            seconds = [m[0] for m in measured]
            results[name] = (statistics.median(seconds), measured[-1][1])
            print(f"{name:<42} trials={trials} median={statistics.median(seconds):.2f}s "
                  f"max={max(seconds):.2f}s requests={measured[-1][1]} "
                  f"writes={max(m[2] for m in measured)}")
        doctor, status = results["doctor, from the cluster's record"], \
            results["status, from the cluster's record"]
        print(f"doctor ({len(RULES)} rules) / status (1 rule): requests "
              f"{doctor[1] / status[1]:.2f}x, time {doctor[0] / status[0]:.2f}x")


if __name__ == "__main__":
    main()
