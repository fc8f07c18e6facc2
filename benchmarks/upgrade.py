"""Time and write requests of an upgrade from v1.10.2 to 26.03, on the emulated API server.

Issue 15 asks for the measured time and write counts of the emulated upgrade. The
baseline, measured in the same run on the same emulator settings, is a first install
of 26.03 on an empty cluster: the upgrade applies the same objects, plus its own steps
(record, stopped controller, storage-version migration, prune), and waits for the same
workloads. Printed: both times and write counts, by method, and their ratios.

The upgrade here runs without its backup (--no-backup): the backup's database Jobs need
a container runtime (tests/upgrade/test_upgrade_flow.py runs them against MariaDB). The
copy of MinIO's artifacts into SeaweedFS runs as a Job whose pod the emulator ends with a
verified summary (the script itself runs against real S3 servers in tests/storage).
Profile namespaces hold the objects the profile controller writes (Istio
AuthorizationPolicies among them), so the storage-version migration has objects to
rewrite; `--profiles N` sets how many (default 20).

The emulator's controllers are scaled as in benchmarks/apply.py (CRDs Established after
0.5 s, workloads available after 2 s); the write counts do not depend on the scale.

Usage (from the repository root): python -m benchmarks.upgrade [--profiles N]
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
import time
from pathlib import Path

from tests.emulator import FaultPlan, RunningEmulator, Settings
from tests.helpers.store_copy import copy_job_name, verified_copy_log

from kfops.cluster import ApplyOptions, Cluster, WaitSettings
from kfops.config import LoadedPlatform, load_platform
from kfops.operations import UpgradeOptions, apply_platform, render_platform
from kfops.render import RenderOptions

OFFLINE = RenderOptions(offline=True)
UPSTREAM = Path(__file__).resolve().parent.parent.parent / "shared" / "upstream"
# The platform files written here point into the upstream snapshot, outside their folders.
os.environ.setdefault("KFOPS_ALLOWED_PATHS", str(UPSTREAM))
WAITS = WaitSettings(timeout=600, interval=2.0)


def _profiles(count: int) -> str:
    return "  profiles:\n" + "".join(
        f"  - name: team-{i}\n    owner: user{i}@example.com\n" for i in range(count))


def _write_counts(emulator: RunningEmulator, since: int) -> collections.Counter[str]:
    return collections.Counter(r.method for r in emulator.writes()[since:])


def _platform(folder: Path, release: str, profiles: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "platform.yaml"
    path.write_text(
        "apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: bench}\n"
        f"spec:\n  target: local\n  release:\n    version: \"{release}\"\n"
        f"    source: {UPSTREAM / 'kubeflow-manifests' / release}\n"
        f"    remoteCache: {UPSTREAM / 'remote-cache'}\n" + _profiles(profiles))
    return path


def fresh_install(folder: Path, profiles: int) -> tuple[float, collections.Counter[str]]:
    """Seconds and writes of a first 26.03 install (the baseline)."""
    loaded = load_platform(_platform(folder / "fresh", "26.03", profiles))
    with RunningEmulator(_settings(), FaultPlan()) as emulator, \
            Cluster.connect(emulator.write_kubeconfig(folder / "fresh.kubeconfig")) as cluster:
        started = time.perf_counter()
        apply_platform(loaded, cluster, ApplyOptions(waits=WAITS), render_options=OFFLINE)
        return time.perf_counter() - started, _write_counts(emulator, 0)


def upgrade(folder: Path, profiles: int) -> tuple[float, collections.Counter[str], list[str]]:
    """Seconds and writes of the upgrade of an installed v1.10.2 to 26.03, and what the
    upgrade's own steps did."""
    old = load_platform(_platform(folder / "old", "v1.10.2", profiles))
    new = load_platform(_platform(folder / "new", "26.03", profiles))
    with RunningEmulator(_settings(), FaultPlan()) as emulator, \
            Cluster.connect(emulator.write_kubeconfig(folder / "up.kubeconfig")) as cluster:
        apply_platform(old, cluster, ApplyOptions(waits=WAITS), render_options=OFFLINE)
        _copy_job_verifies(emulator, cluster, new)
        before = len(emulator.writes())
        started = time.perf_counter()
        result = apply_platform(new, cluster, ApplyOptions(waits=WAITS),
                                render_options=OFFLINE, upgrade=UpgradeOptions(backup=False))
        seconds = time.perf_counter() - started
        done = result.upgrade
        assert done is not None
        steps = [f"stopped {len(done.stopped)}", f"migrated {len(done.migrated)} CRDs",
                 f"restarted {len(done.restarted)}", f"pruned {len(done.pruned)}",
                 f"kept {len(done.kept)}", done.store]
        return seconds, _write_counts(emulator, before), steps


def _copy_job_verifies(emulator: RunningEmulator, cluster: Cluster,
                       new: LoadedPlatform) -> None:
    """The artifact copy Job runs on a node and ends with a verified summary (the emulator
    runs no container; tests/storage runs the script against real S3 servers)."""
    objects = [o.obj for o in render_platform(new, OFFLINE).bundle.objects]
    name = copy_job_name(cluster, objects)
    cluster.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})
    with emulator.lock:
        emulator.state.report_status(("", "nodes", "", "node-1"), {"allocatable": {}})
        emulator.state.settings.jobs = True
        emulator.state.settings.job_results[f"kubeflow/{name}"] = (0, verified_copy_log())


def _settings() -> Settings:
    return Settings(crd_delay=0.5, workload_delay=2.0, profile_controller=True,
                    profile_delay=0.1)


def main() -> None:
    """Measure both and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        base_seconds, base_writes = fresh_install(folder, args.profiles)
        up_seconds, up_writes, steps = upgrade(folder, args.profiles)
    base_total, up_total = sum(base_writes.values()), sum(up_writes.values())
    print(f"first install of 26.03:          {base_seconds:7.1f} s, {base_total} writes "
          f"{dict(base_writes)}")
    print(f"upgrade v1.10.2 → 26.03:         {up_seconds:7.1f} s, {up_total} writes "
          f"{dict(up_writes)}; {', '.join(steps)}")
    print(f"ratio upgrade / first install:   time {up_seconds / base_seconds:.2f}, "
          f"writes {up_total / base_total:.2f}")


if __name__ == "__main__":
    main()
