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

With --real, both run on a real control plane instead (tests/controlplane: kube-apiserver,
controller manager, scheduler and kwok built from the Kubernetes Go modules), each on a
fresh one started the same way: kfops apply (writes counted from the API server's audit
log), and the upstream loop run for real,

      while ! kubectl apply --server-side --force-conflicts -f bundle.yaml; do sleep 20; done

over the same objects as kfops's bundle (in its stage order), with upstream's 20 s sleep,
until the workloads are available. No controller is scaled: CRDs, pods (kwok) and the
loop take the time they take. Webhook configurations are left out of both (no webhook
server can run without containers; see tests/controlplane/_webhookless.py).

Usage (from the repository root, it uses tests.emulator / tests.controlplane):
    python -m benchmarks.apply [--real]
Prints one line per measurement and the ratios; timings never go in tests.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from tests.controlplane import ControlPlane, build
from tests.controlplane._versions import KUBERNETES, Binaries
from tests.controlplane._webhookless import kustomize_wrapper
from tests.emulator import FaultPlan, RunningEmulator, Settings

from kfops.cluster import ApplyOptions, Cluster, RetryPolicy, WaitSettings
from kfops.cluster._waits import wait_for_workloads
from kfops.config import load_platform
from kfops.errors import ClusterError
from kfops.objects import WORKLOAD_KINDS
from kfops.operations import apply_platform, render_platform
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
            wait_for_workloads(cluster, workloads, WAITS)
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


def real_kfops_apply(platform: Path, binaries: Binaries,
                     folder: Path) -> tuple[list[dict[str, Any]], int, int, float]:
    """On a fresh control plane: (objects, writes of the first apply, of a re-apply, seconds)."""
    loaded = load_platform(platform)
    with ControlPlane.start(binaries, folder) as plane, \
            Cluster.connect(plane.kubeconfig) as cluster:
        setup = _object_writes(plane)  # the harness's nodes and StorageClass
        started = time.perf_counter()
        result = apply_platform(loaded, cluster, ApplyOptions(waits=WAITS),
                                render_options=RenderOptions(offline=True))
        seconds = time.perf_counter() - started
        first = _object_writes(plane) - setup
        apply_platform(loaded, cluster, ApplyOptions(waits=WAITS),
                       render_options=RenderOptions(offline=True))
        again = _object_writes(plane) - first - setup
    return [item.obj for item in result.render.bundle.objects], first, again, seconds


def _object_writes(plane: ControlPlane) -> int:
    return len([w for w in plane.writes() if w.resource != "leases"])


def real_upstream_loop(objects: list[dict[str, Any]], binaries: Binaries,
                       folder: Path) -> tuple[int, int, float, float]:
    """On a fresh control plane: (writes, passes, seconds of the loop, seconds until its
    workloads are available) of kubectl's server-side apply loop."""
    folder.mkdir(parents=True, exist_ok=True)
    bundle = folder / "bundle.yaml"
    bundle.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    kubectl = str(Path(sys.executable).parent / "kubectl")
    with ControlPlane.start(binaries, folder / "cp") as plane, \
            Cluster.connect(plane.kubeconfig) as cluster:
        setup = len(plane.writes())  # the harness's nodes and StorageClass
        started = time.perf_counter()
        passes = 0
        while True:
            passes += 1
            done = subprocess.run([kubectl, "--kubeconfig", str(plane.kubeconfig), "apply",
                                   "--server-side", "--force-conflicts", "-f", str(bundle)],
                                  capture_output=True, text=True, check=False)
            if done.returncode == 0:
                break
            time.sleep(20)
        seconds = time.perf_counter() - started
        writes = len(plane.writes()) - setup
        workloads = [o for o in objects if o["kind"] in WORKLOAD_KINDS]
        cluster.learn_crds([o for o in objects if o["kind"] == "CustomResourceDefinition"])
        wait_for_workloads(cluster, workloads, WAITS)
        return writes, passes, seconds, time.perf_counter() - started


def main_real(release: str) -> None:
    binaries = build().binaries
    with tempfile.TemporaryDirectory(prefix="kfops-bench-") as temp:
        folder = Path(temp)
        os.environ["KFOPS_CACHE_DIR"] = str(folder / "cache")  # renders without webhooks
        os.environ["KFOPS_STATE_DIR"] = str(folder / "state")
        os.environ["KFOPS_KUSTOMIZE"] = str(kustomize_wrapper(folder / "tools"))
        platform = platform_file(folder, release)
        objects, first, again, kfops_seconds = real_kfops_apply(platform, binaries,
                                                                folder / "cp-kfops")
        loop_writes, passes, loop_seconds, healthy_seconds = real_upstream_loop(
            objects, binaries, folder / "loop")
    count = len(objects)
    print(f"real control plane (kube-apiserver {KUBERNETES}, kwok nodes), release {release}: "
          f"{count} objects (without webhook configurations)")
    print(f"{'kfops apply, first install':<36} {first:5d} writes  "
          f"{first / count:.3f} per object (goal 1, +1 parent)  {kfops_seconds:6.1f} s")
    print(f"{'kfops apply, nothing changed':<36} {again:5d} writes  (goal 0)")
    print(f"{'upstream loop (kubectl, sleep 20)':<36} {loop_writes:5d} writes  "
          f"{loop_writes / count:.3f} per object  {passes} passes  {loop_seconds:6.1f} s "
          f"(workloads available at {healthy_seconds:.1f} s)")
    print(f"ratio: kfops first-install writes / upstream loop writes = {first / loop_writes:.3f}")
    print(f"ratio: kfops apply time / upstream loop until available = "
          f"{kfops_seconds / healthy_seconds:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="26.03")
    parser.add_argument("--real", action="store_true",
                        help="run both on the real control plane of tests/controlplane")
    args = parser.parse_args()
    if args.real:
        main_real(args.release)
        return
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
