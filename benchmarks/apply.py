"""Write requests of `kfops apply` against the upstream retry loop, on the emulated API server.

Issue 4's goals, for the 26.03 default platform:

  kfops apply, first install        exactly one write per object (+1: the ApplySet parent)
  kfops apply, nothing changed      0 writes
  for context: the upstream loop    writes and passes of
      while ! kustomize build example | kubectl apply --server-side --force-conflicts -f -;
      do sleep 20; done
  replayed on the same emulator: each pass sends every object whose kind the API
  serves (kubectl refuses the others before sending), carries on past failures,
  and the loop sleeps and repeats until a pass has none.

Writes of the install's Lease (each apply takes it and gives it back: coordination,
not an object of the platform) are not counted.

The emulator's controllers and the loop's sleep are scaled down by the same factor
(CRDs Established after 0.5 s, workloads available after 2 s, the loop sleeps 2 s
instead of 20 s), so passes compare as they would on a cluster; the write counts do
not depend on the scale.

Usage (from the repository root, it uses tests.emulator): python -m benchmarks.apply
Prints one line per measurement and the ratios; timings never go in tests.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from tests.emulator import FaultPlan, RunningEmulator, Settings

from kfops.cluster import ApplyOptions, Cluster, RetryPolicy, WaitSettings
from kfops.cluster._waits import WORKLOAD_KINDS, wait_for, workloads_pending
from kfops.config import load_platform
from kfops.errors import ClusterError
from kfops.platform import apply_platform, render_platform
from kfops.render import RenderOptions
from kfops.render._kustomize import find_kustomize

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT.parent / "shared" / "upstream"
# The platform files written here point into the upstream snapshot, outside their folders.
os.environ.setdefault("KFOPS_ALLOWED_PATHS", str(UPSTREAM))
SCALE = 0.1
SETTINGS = Settings(crd_delay=5 * SCALE, workload_delay=20 * SCALE)
LOOP_SLEEP = 20 * SCALE
WAITS = WaitSettings(timeout=600, interval=2.0)


def platform_file(folder: Path, release: str) -> Path:
    """The default local platform for the release, pointing at the upstream snapshot."""
    path = folder / "platform.yaml"
    path.write_text(
        "apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: bench}\n"
        f"spec:\n  target: local\n  release:\n    version: \"{release}\"\n"
        f"    source: {UPSTREAM / 'kubeflow-manifests' / release}\n"
        f"    remoteCache: {UPSTREAM / 'remote-cache'}\n"
    )
    return path


def kfops_apply(platform: Path) -> tuple[int, int, int, float]:
    """(objects, writes of the first apply, writes of a re-apply, seconds of the first)."""
    loaded = load_platform(platform)
    with RunningEmulator(SETTINGS, FaultPlan()) as emulator, tempfile.TemporaryDirectory() as t:
        kubeconfig = emulator.write_kubeconfig(Path(t) / "kubeconfig")
        with Cluster.connect(kubeconfig) as cluster:
            started = time.perf_counter()
            result = apply_platform(loaded, cluster, ApplyOptions(waits=WAITS),
                                    render_options=RenderOptions(offline=True))
            seconds = time.perf_counter() - started
            first = len(emulator.writes())
            apply_platform(loaded, cluster, ApplyOptions(waits=WAITS),
                           render_options=RenderOptions(offline=True))
            again = len(emulator.writes()) - first
    return len(result.render.bundle.objects), first, again, seconds


def upstream_objects(platform: Path) -> list[dict[str, Any]]:
    """`kustomize build example` of the same prepared release tree, as upstream runs it."""
    workspace = render_platform(load_platform(platform), RenderOptions(offline=True)).workspace
    stream = find_kustomize().build(workspace / "release" / "example")
    return [d for d in yaml.load_all(stream, Loader=yaml.CSafeLoader) if d]


def upstream_loop(objects: list[dict[str, Any]]) -> tuple[int, int, float, float]:
    """(writes, passes, seconds of the loop, seconds until its workloads are available)."""
    crd_names = {(o["spec"]["group"], o["spec"]["names"]["kind"]): o["metadata"]["name"]
                 for o in objects if o["kind"] == "CustomResourceDefinition"}
    with RunningEmulator(SETTINGS, FaultPlan()) as emulator, tempfile.TemporaryDirectory() as t:
        kubeconfig = emulator.write_kubeconfig(Path(t) / "kubeconfig")
        # kubectl does not retry a refused object within a pass: one attempt each.
        with Cluster.connect(kubeconfig, retry=RetryPolicy(attempts=1)) as cluster:
            cluster.learn_crds([o for o in objects if o["kind"] == "CustomResourceDefinition"])
            started = time.perf_counter()
            passes = 0
            while True:
                passes += 1
                served = _served(cluster, crd_names)
                failures = 0
                for obj in objects:
                    group = str(obj["apiVersion"]).rpartition("/")[0]
                    if (group, obj["kind"]) in crd_names and (group, obj["kind"]) not in served:
                        failures += 1  # "no matches for kind": refused before sending
                        continue
                    try:
                        cluster.apply(obj)
                    except ClusterError:
                        failures += 1
                if not failures:
                    break
                time.sleep(LOOP_SLEEP)
            seconds = time.perf_counter() - started
            writes = len(emulator.writes())
            # The loop ends when nothing is refused; the platform is usable once its
            # workloads are available, which is where kfops apply ends.
            workloads = [o for o in objects if o["kind"] in WORKLOAD_KINDS]
            wait_for(WAITS, "workloads", lambda: workloads_pending(cluster, workloads))
            return writes, passes, seconds, time.perf_counter() - started


def _served(cluster: Cluster, crd_names: dict[tuple[str, str], str]) -> set[tuple[str, str]]:
    """The custom kinds discovery lists at the start of a pass (kubectl's fresh discovery)."""
    served = set()
    for key, name in crd_names.items():
        live = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        conditions = ((live or {}).get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            served.add(key)
    return served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="26.03")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfops-bench-") as temp:
        os.environ.setdefault("KFOPS_CACHE_DIR", str(Path(temp) / "cache"))
        os.environ["KFOPS_STATE_DIR"] = str(Path(temp) / "state")
        platform = platform_file(Path(temp), args.release)
        objects, first, again, kfops_seconds = kfops_apply(platform)
        plain = upstream_objects(platform)
        loop_writes, passes, loop_seconds, healthy_seconds = upstream_loop(plain)
    print(f"release {args.release}: kfops bundle {objects} objects, "
          f"upstream example {len(plain)} objects")
    print(f"{'kfops apply, first install':<36} {first:5d} writes  "
          f"{first / objects:.3f} per object (goal 1, +1 parent)  {kfops_seconds:6.1f} s")
    print(f"{'kfops apply, nothing changed':<36} {again:5d} writes  (goal 0)")
    print(f"{'upstream retry loop':<36} {loop_writes:5d} writes  "
          f"{loop_writes / len(plain):.3f} per object  {passes} passes  {loop_seconds:6.1f} s "
          f"(workloads available at {healthy_seconds:.1f} s)")
    print(f"ratio: kfops first-install writes / upstream loop writes = {first / loop_writes:.3f}")
    print(f"ratio: kfops apply time / upstream loop until available = "
          f"{kfops_seconds / healthy_seconds:.3f}")


if __name__ == "__main__":
    main()
