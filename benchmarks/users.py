"""`kfops user import` of 1,000 users: parallel hashing, Dex restarts, size of what is written.

Issue 5's goals:

  hashing 1,000 passwords (bcrypt cost 10) on all cores
      / the same one by one, in the same run        <= 0.6 on 2 cores
  Dex restarts for the whole import                  1
  size of the Dex config and Secret written          reported

The import goes to an emulated cluster running Kubeflow's own Dex manifests
(`common/dex/overlays/oauth2-proxy` of the 26.03 release), as `--live` does.

Usage (from the repository root, it uses tests.emulator): python -m benchmarks.users [--users N]
Prints one line per measurement and the ratio; timings never go in tests.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import yaml
from tests.emulator import FaultPlan, RunningEmulator, Settings

from kfops.cluster import Cluster, WaitSettings
from kfops.identity import DexUsers, read_users_csv
from kfops.render._kustomize import find_kustomize

ROOT = Path(__file__).resolve().parent.parent
DEX = ROOT.parent / "shared" / "upstream" / "kubeflow-manifests" / "26.03" / "common" / "dex" \
    / "overlays" / "oauth2-proxy"
COST = 10


def write_csv(folder: Path, count: int) -> Path:
    """A CSV of `count` users with distinct passwords."""
    path = folder / "users.csv"
    path.write_text("email,username,password\n" + "".join(
        f"user{i:04d}@example.com,user{i:04d},password-{i:04d}-{os.urandom(4).hex()}\n"
        for i in range(count)))
    return path


def hashing(csv_file: Path) -> tuple[float, float]:
    """Seconds to read and hash the CSV one by one, and on all cores."""
    started = time.perf_counter()
    read_users_csv(csv_file, COST, workers=1)
    sequential = time.perf_counter() - started
    started = time.perf_counter()
    read_users_csv(csv_file, COST)
    parallel = time.perf_counter() - started
    return sequential, parallel


def live_import(csv_file: Path, folder: Path) -> tuple[int, int, int, float]:
    """(Dex restarts, config bytes, Secret bytes, seconds) of an import into a running Dex."""
    users = read_users_csv(csv_file, COST)
    with RunningEmulator(Settings(workload_delay=0.5), FaultPlan()) as emulator:
        kubeconfig = emulator.write_kubeconfig(folder / "kubeconfig")
        with Cluster.connect(kubeconfig) as cluster:
            objects = [o for o in yaml.safe_load_all(find_kustomize().build(DEX)) if o]
            for obj in sorted(objects, key=lambda o: o["kind"] != "Namespace"):
                if obj["kind"] != "VirtualService":
                    cluster.apply(obj)
            before = len(emulator.writes())
            started = time.perf_counter()
            DexUsers(cluster, WaitSettings(timeout=60, interval=0.5)).add(users, replace=True)
            seconds = time.perf_counter() - started
            writes = emulator.writes()[before:]
            config_map = cluster.get("v1", "ConfigMap", "dex", "auth") or {}
            secret = cluster.get("v1", "Secret", "dex-passwords", "auth") or {}
    restarts = sum(1 for w in writes if w.path.endswith("/deployments/dex"))
    config_bytes = len(config_map.get("data", {}).get("config.yaml", "").encode())
    secret_bytes = sum(len(v) for v in (secret.get("data") or {}).values())
    return restarts, config_bytes, secret_bytes, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfops-bench-") as temp:
        csv_file = write_csv(Path(temp), args.users)
        sequential, parallel = hashing(csv_file)
        restarts, config_bytes, secret_bytes, seconds = live_import(csv_file, Path(temp))
    print(f"{args.users} users, bcrypt cost {COST}, {os.cpu_count()} cores")
    print(f"{'hashing one by one':<32} {sequential:7.2f} s")
    print(f"{'hashing on all cores':<32} {parallel:7.2f} s")
    print(f"ratio: parallel / one by one = {parallel / sequential:.3f} (goal <= 0.6 on 2 cores)")
    print(f"{'Dex restarts for the import':<32} {restarts:7d}   (goal 1)")
    print(f"{'Dex config.yaml written':<32} {config_bytes / 1024:7.1f} KiB")
    print(f"{'dex-passwords data written':<32} {secret_bytes / 1024:7.1f} KiB (base64)")
    print(f"{'live import incl. restart wait':<32} {seconds:7.2f} s")


if __name__ == "__main__":
    main()
