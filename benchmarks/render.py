"""Render speed and memory against a plain `kustomize build example` of the same tree.

Issue 2's goals, each the median of alternating runs with the same kustomize
binary (remote bases resolved the same way, from a prepared workspace):

  cold render                          <= 1.2   x plain build
  re-render after toggling a component <= 0.25  x plain build
  re-render with nothing changed       <= 0.1   x plain build
  validation of the parsed objects     <= 1 s
  kfops validate --bundle              <= 4 s
  peak memory, kfops + children        <= 1.5   x kustomize's

Usage: python benchmarks/render.py [--release 26.03|v1.10.2] [--runs 3]
Prints one line per measurement and the ratios; timings never go in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kfops.config import load_platform
from kfops.render import RenderOptions, render
from kfops.render._kustomize import find_kustomize
from kfops.validate import validate_objects

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT.parent / "shared" / "upstream"
# The platform files written here point into the upstream snapshot, outside their folders.
os.environ.setdefault("KFOPS_ALLOWED_PATHS", str(UPSTREAM))
KFOPS = [sys.executable, "-m", "kfops.cli._main"]


def platform_file(folder: Path, release: str, extra: str = "") -> Path:
    """A platform file for the release, pointing at the upstream snapshot."""
    path = folder / "platform.yaml"
    path.write_text(
        "apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: bench}\n"
        f"spec:\n  target: local\n  release:\n    version: \"{release}\"\n"
        f"    source: {UPSTREAM / 'kubeflow-manifests' / release}\n"
        f"    remoteCache: {UPSTREAM / 'remote-cache'}\n{extra}"
    )
    return path


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    total = 0
    pending = [pid]
    while pending:
        proc = Path(f"/proc/{pending.pop()}")
        try:
            with (proc / "status").open() as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            # Children started from worker threads are listed under those threads' tasks.
            for task in (proc / "task").iterdir():
                with (task / "children").open() as children:
                    pending += [int(c) for c in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall time (s) and peak combined RSS (KiB) of a command and its children."""
    peak = 0
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kb(process.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{stderr.decode()[-2000:]}")
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--release", default="26.03")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kfops-bench-"))
    env = {**os.environ}
    try:
        kustomize = find_kustomize()
        print(f"kustomize: {' '.join(kustomize.argv)} ({kustomize.version})")
        platform = platform_file(work, args.release)
        (work / "toggled").mkdir()
        toggled = platform_file(work / "toggled", args.release, "  components: {katib: false}\n")
        # One render prepares the workspace with remote bases resolved: the plain build
        # runs on that same tree so both resolve remote bases the same way.
        warm_cache = work / "warm-cache"
        env_warm = {**env, "KFOPS_CACHE_DIR": str(warm_cache)}
        run([*KFOPS, "render", "-f", str(platform), "--out", str(work / "b0")], env_warm)
        example = next((warm_cache / "workspaces").iterdir()) / "release" / "example"

        plain, cold, toggle, nochange = [], [], [], []
        plain_mem, cold_mem = [], []
        for index in range(args.runs):
            seconds, kb = run([*kustomize.argv, str(example)], env)
            plain.append(seconds)
            plain_mem.append(kb)
            cold_env = {**env, "KFOPS_CACHE_DIR": str(work / f"cold-{index}")}
            seconds, kb = run([*KFOPS, "render", "-f", str(platform), "--out",
                               str(work / f"cold-out-{index}")], cold_env)
            cold.append(seconds)
            cold_mem.append(kb)
            # Toggle katib off then on again: each render differs from the one before.
            which = toggled if index % 2 == 0 else platform
            toggle.append(run([*KFOPS, "render", "-f", str(which), "--out",
                               str(work / "b0")], env_warm)[0])
            run([*KFOPS, "render", "-f", str(platform), "--out", str(work / "b0")], env_warm)
            nochange.append(run([*KFOPS, "render", "-f", str(platform), "--out",
                                 str(work / "b0")], env_warm)[0])

        base = statistics.median(plain)
        report = [
            ("plain kustomize build example", base, None, None),
            ("cold render", statistics.median(cold), statistics.median(cold) / base, 1.2),
            ("re-render, one component toggled", statistics.median(toggle),
             statistics.median(toggle) / base, 0.25),
            ("re-render, nothing changed", statistics.median(nochange),
             statistics.median(nochange) / base, 0.1),
        ]
        for name, seconds, ratio, goal in report:
            tail = f"  ratio {ratio:.3f} (goal <= {goal})" if ratio is not None else ""
            print(f"{name:<36} {seconds:7.2f} s{tail}")
        memory_ratio = statistics.median(cold_mem) / statistics.median(plain_mem)
        print(f"{'peak memory kustomize':<36} {statistics.median(plain_mem) / 1024:7.0f} MiB")
        print(f"{'peak memory kfops + children':<36} {statistics.median(cold_mem) / 1024:7.0f} MiB"
              f"  ratio {memory_ratio:.3f} (goal <= 1.5)")
        _breakdown(work, platform, env)
        _validation(work, platform, env_warm)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _breakdown(work: Path, platform: Path, env: dict[str, str]) -> None:
    """Where one more cold render's time goes (parse overlaps the builds still running)."""
    cold_env = {**env, "KFOPS_CACHE_DIR": str(work / "cold-breakdown")}
    done = subprocess.run([*KFOPS, "render", "-f", str(platform), "--out",
                           str(work / "cold-breakdown-out"), "-o", "json"],
                          env=cold_env, capture_output=True, text=True, check=True)
    timings = json.loads(done.stdout)["timings"]
    print("cold render breakdown: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))


def _validation(work: Path, platform: Path, env: dict[str, str]) -> None:
    os.environ["KFOPS_CACHE_DIR"] = env["KFOPS_CACHE_DIR"]
    result = render(load_platform(platform), RenderOptions())
    objects = [o.obj for o in result.bundle.objects]
    version = result.bundle.lock["kubernetesVersion"]
    times = []
    for _ in range(3):
        start = time.perf_counter()
        report = validate_objects(objects, version)  # no cache: every object checked
        times.append(time.perf_counter() - start)
    print(f"{'validation of parsed objects':<36} {statistics.median(times):7.2f} s"
          f"  ({report.checked} objects, goal <= 1 s)")
    bundle_times = []
    for index in range(3):
        cache = {**env, "KFOPS_CACHE_DIR": str(work / f"validate-cache-{index}")}
        bundle_times.append(run([*KFOPS, "validate", "--bundle", str(work / "b0")], cache)[0])
    print(f"{'kfops validate --bundle':<36} {statistics.median(bundle_times):7.2f} s"
          "  (goal <= 4 s)")


if __name__ == "__main__":
    main()
