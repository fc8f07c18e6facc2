"""Issue 20's table, re-measured: what prune and uninstall lose, and what plan gets wrong.

Runs the reliability probe (tests/helpers/probe.py) on fresh emulated clusters
and prints, per step, the foreign objects lost, the objects plan and apply
disagree about, and the members left that uninstall did not report; then the
"also seen" rows of the state directory: the mode of an existing
KFOPS_STATE_DIR after a render, and copies of the state left in $TMPDIR by a
`kfops plan` killed with SIGKILL.

Usage (from the repository root): python -m benchmarks.prune_probe [--trials N]
Counts, not timings; each row sums over the trials.
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.conftest import ROOT, UPSTREAM
from tests.emulator import FaultPlan, RunningEmulator, Settings
from tests.helpers.probe import Probe, platform_yaml, run

# The platform files written here point into the upstream snapshot, outside their folders.
os.environ.setdefault("KFOPS_ALLOWED_PATHS", str(UPSTREAM))

from kfops.cluster import Cluster, RetryPolicy, WaitSettings
from kfops.config import load_platform
from kfops.objects import ApplySet
from kfops.operations import render_platform
from kfops.render import RenderOptions

WAITS = WaitSettings(timeout=60, interval=0.02)


Row = tuple[str, str]
"""(step, what is counted)."""


def probe_trial(folder: Path) -> Counter[Row]:
    """One probe on a fresh cluster; counts per step."""
    counts: Counter[Row] = Counter()
    settings = Settings(crd_delay=0.05, workload_delay=0.1, profile_controller=True,
                        profile_delay=0.1)
    with RunningEmulator(settings, FaultPlan()) as emulator:
        kubeconfig = emulator.write_kubeconfig(folder / "kubeconfig")
        with Cluster.connect(kubeconfig, retry=RetryPolicy(base=0, jitter=0)) as cluster:

            def after(probe: Probe) -> None:
                step = probe.steps[-1]
                counts[(step.name, "foreign objects lost")] += len(step.lost)
                counts[(step.name, "lookalike in default lost")] += sum(
                    "'default', 'lookalike'" in entry for entry in step.lost)
                if step.name.startswith("uninstall"):
                    counts[(step.name, "members left, reported as kept")] += \
                        len(step.members_left) - len(step.unexplained)
                    counts[(step.name, "members left, not reported")] += len(step.unexplained)
                else:
                    counts[(step.name, "plan and apply disagree")] += len(step.plan_differs)
                if step.name.startswith("rename"):
                    old = ApplySet("lab").id
                    left = {what for what, applyset in probe.member_ids().items()
                            if applyset == old}
                    reported = {entry.split(":")[0] for entry in probe.last_summary.kept}
                    counts[(step.name, "left under the old id, not reported")] += \
                        len(left - reported)

            run(emulator, cluster, folder / "site", WAITS, after)
    return counts


def state_dir_mode(folder: Path) -> str:
    """The mode of an existing 1777 KFOPS_STATE_DIR after a render."""
    shared = folder / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    os.environ["KFOPS_STATE_DIR"] = str(shared)
    try:
        render_platform(load_platform(platform_yaml(folder / "render")),
                        RenderOptions(offline=True))
    finally:
        del os.environ["KFOPS_STATE_DIR"]
    return oct(stat.S_IMODE(shared.stat().st_mode))


def killed_plan_leftovers(folder: Path) -> int:
    """Files left in $TMPDIR by a `kfops plan` killed with SIGKILL mid-run."""
    path = platform_yaml(folder / "site")
    render_platform(load_platform(path), RenderOptions(offline=True))  # the state exists
    scratch = folder / "tmp"
    scratch.mkdir()
    with RunningEmulator(Settings(), FaultPlan()) as emulator:
        kubeconfig = emulator.write_kubeconfig(folder / "kubeconfig")
        process = subprocess.Popen(
            [sys.executable, "-m", "kfops", "plan", "-f", str(path), "--offline",
             "--kubeconfig", str(kubeconfig)],
            env={**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(ROOT / "src")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        process.send_signal(signal.SIGKILL)
        process.wait()
    return sum(1 for _ in scratch.rglob("*"))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.prune_probe")
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    counts: Counter[Row] = Counter()
    modes: Counter[str] = Counter()
    leftovers = 0
    with tempfile.TemporaryDirectory(prefix="kfops-probe-") as root:
        os.environ.setdefault("KFOPS_CACHE_DIR", str(Path(root) / "cache"))
        for trial in range(args.trials):
            folder = Path(root) / f"trial-{trial}"
            folder.mkdir()
            counts.update(probe_trial(folder))
            modes[state_dir_mode(folder)] += 1
            leftovers += killed_plan_leftovers(folder)
    print(f"{args.trials} trial(s) of the probe, 18 foreign objects each; sums over the trials")
    print("| step | measured | count |")
    print("|---|---|---|")
    for (step, what), count in counts.items():
        print(f"| {step} | {what} | {count} |")
    print(f"| existing KFOPS_STATE_DIR (mode 1777), after a render | its mode | {dict(modes)} |")
    print(f"| `kfops plan` killed with SIGKILL | files left in $TMPDIR | {leftovers} |")


if __name__ == "__main__":
    main()
