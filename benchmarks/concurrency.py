"""Two administrators at once, with real `kfops` processes on the emulated API server.

Re-measures the tables of issues 19 and 20 (goals in brackets):

  two `kfops user add` (file mode) at once on one platform.yaml,
      20 trials                                          users lost      [0]
  two first `kfops apply` at once from two checkouts (two state
      directories) on an empty cluster, 3 trials         Secrets whose generated value
                                                         changed after creation [0];
                                                         state directories that differ
                                                         from the cluster after it [0]
  `kfops apply --rotate-secrets` with an intact state    generated values changed
      folder                                             [all but database passwords];
                                                         workloads reading them restarted [all]
  `kfops apply` racing `kfops user add --live`,
      10 trials                                          live users lost [0]

Every run is a separate `python -m kfops` process, started at the same time
(the racing live add starts once the apply holds its Lease, i.e. has rendered
and begins to write, plus a random delay of up to 3 s).

Usage (from the repository root, it uses tests.emulator): python -m benchmarks.concurrency
Prints one line per measurement; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from tests.emulator import FaultPlan, RunningEmulator, Settings

from kfops.config import load_platform
from kfops.identity import hash_password
from kfops.objects import secret_value
from kfops.operations import render_platform
from kfops.render import GeneratedValue, RenderOptions

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT.parent / "shared" / "upstream"
# The platform files written here point into the upstream snapshot, outside their folders.
os.environ.setdefault("KFOPS_ALLOWED_PATHS", str(UPSTREAM))
SETTINGS = Settings(crd_delay=0.2, workload_delay=0.5, profile_controller=True,
                    profile_delay=0.2)
LEASE = ("coordination.k8s.io", "leases", "kube-system", "kfops-lab")


def platform_file(folder: Path, users: list[str] | None = None) -> Path:
    """The default local 26.03 platform, with these file users (password `a-password`)."""
    folder.mkdir(parents=True, exist_ok=True)
    hashed = hash_password("a-password", 10)
    entries = "".join(f"    - email: {u}\n      passwordHash: \"{hashed}\"\n"
                      for u in users or [])
    path = folder / "platform.yaml"
    path.write_text(
        "apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: lab}\n"
        "spec:\n  target: local\n  release:\n    version: \"26.03\"\n"
        f"    source: {UPSTREAM / 'kubeflow-manifests' / '26.03'}\n"
        f"    remoteCache: {UPSTREAM / 'remote-cache'}\n"
        + (f"  auth:\n    users:\n{entries}" if users else "  auth:\n    users: []\n"))
    return path


def kfops(*args: str, stdin: str | None = None) -> subprocess.Popen[str]:
    """A `kfops` process (stdout and stderr captured)."""
    return subprocess.Popen([sys.executable, "-m", "kfops", *args], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE if stdin is not None else None,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen[str], stdin: str | None = None) -> str:
    out, err = process.communicate(stdin, timeout=1800)
    if process.returncode != 0:
        raise SystemExit(f"kfops {process.args!r}: exit {process.returncode}\n{err}")
    return out


def file_edits(folder: Path, trials: int) -> int:
    """Users lost when two `kfops user add` edit one file at once."""
    path = platform_file(folder / "edits")
    lost = 0
    for trial in range(trials):
        pair = [f"a{trial}@example.com", f"b{trial}@example.com"]
        processes = [kfops("user", "add", email, "--password-stdin", "--cost", "10",
                           "-f", str(path), stdin="") for email in pair]
        for process in processes:
            finish(process, "a-long-enough-password\n")
        users = yaml.safe_load(path.read_text())["spec"]["auth"]["users"] or []
        lost += len(set(pair) - {u["email"] for u in users})
    return lost


def secret_values(emulator: RunningEmulator) -> dict[tuple[str, str, str], list[str]]:
    """(namespace, Secret, key) -> the values it held, in the order written."""
    values: dict[tuple[str, str, str], list[str]] = {}
    with emulator.lock:
        for written in emulator.state.history:
            if written.key[:2] == ("", "secrets"):
                for key, value in (written.obj.get("data") or {}).items():
                    held = values.setdefault((written.key[2], written.key[3], key), [])
                    if not held or held[-1] != value:
                        held.append(value)
    return values


def generated(folder: Path) -> list[GeneratedValue]:
    """Where the platform's generated values go (a render into a scratch state directory)."""
    loaded = load_platform(platform_file(folder / "scratch"))
    options = RenderOptions(offline=True, state_dir=folder / "scratch" / "state")
    return render_platform(loaded, options).bundle.generated


def cluster_values(emulator: RunningEmulator, values: list[GeneratedValue]) -> dict[str, str]:
    """Generated value name -> the value the cluster holds."""
    found = {}
    with emulator.lock:
        for value in values:
            _, _, namespace, name = value.secret
            stored = emulator.state.objects.get(("", "secrets", namespace, name))
            held = secret_value(stored.obj, value.key) if stored else None
            if held is not None:
                found[value.state_name] = held
    return found


def racing_first_installs(folder: Path, trials: int,
                          values: list[GeneratedValue]) -> list[tuple[int, int, bool]]:
    """Per trial: (Secrets whose generated value changed, state dirs differing from the
    cluster, whether one apply waited for the other)."""
    keys = {(v.secret[2], v.secret[3], v.key) for v in values}
    results = []
    for trial in range(trials):
        with RunningEmulator(SETTINGS, FaultPlan()) as emulator:
            kubeconfig = emulator.write_kubeconfig(folder / f"kubeconfig-{trial}")
            files = [platform_file(folder / f"race-{trial}" / f"admin-{n}") for n in (1, 2)]
            processes = [kfops("apply", "-f", str(f), "--offline", "--kubeconfig",
                               str(kubeconfig), "-o", "json") for f in files]
            errors = []
            for process in processes:
                _, err = process.communicate(timeout=1800)
                if process.returncode != 0:
                    raise SystemExit(f"apply failed:\n{err}")
                errors.append(err)
            changed = sum(1 for key, held in secret_values(emulator).items()
                          if key in keys and len(held) > 1)
            held = cluster_values(emulator, values)
            states = [json.loads((f.parent / ".kfops" / "secrets.json").read_text())
                      for f in files]
            differing = sum(1 for state in states
                            if any(state.get(name) != value for name, value in held.items()))
            results.append((changed, differing, any("waiting" in e for e in errors)))
    return results


def rotation(folder: Path, values: list[GeneratedValue]) -> tuple[int, int, list[str], int,
                                                                   int]:
    """(values changed, values, kept, readers restarted, readers) of --rotate-secrets."""
    with RunningEmulator(SETTINGS, FaultPlan()) as emulator:
        kubeconfig = emulator.write_kubeconfig(folder / "kubeconfig-rotation")
        path = platform_file(folder / "rotation")
        finish(kfops("apply", "-f", str(path), "--offline", "--kubeconfig", str(kubeconfig),
                     "-o", "json"))
        state = path.parent / ".kfops" / "secrets.json"
        before = json.loads(state.read_text())
        templates = _pod_templates(emulator)
        out = json.loads(finish(kfops("apply", "-f", str(path), "--offline", "--rotate-secrets",
                                      "--kubeconfig", str(kubeconfig), "-o", "json")))
        after = json.loads(state.read_text())
        held = cluster_values(emulator, values)
        readers = _readers(emulator)
        restarted = sum(1 for r in readers if _pod_templates(emulator)[r] != templates[r])
    names = sorted({v.state_name for v in values})
    changed = sum(1 for n in names if before[n] != after[n] and held.get(n) == after[n])
    return changed, len(names), out["notRotated"], restarted, len(readers)


def _pod_templates(emulator: RunningEmulator) -> dict[str, Any]:
    with emulator.lock:
        return {f"{k[2]}/{k[3]}": json.dumps(s.obj["spec"]["template"], sort_keys=True)
                for k, s in emulator.state.objects.items()
                if k[:2] == ("apps", "deployments")}


def _readers(emulator: RunningEmulator) -> list[str]:
    """Deployments whose pods read a Secret holding a generated value (by the Secrets' names:
    the OIDC client secrets, the object store's keys)."""
    names = ("dex-oidc-client", "oauth2-proxy-", "mlpipeline-minio-artifact")
    templates = _pod_templates(emulator)
    return sorted(r for r, t in templates.items() if any(n in t for n in names))


def racing_live_adds(folder: Path, trials: int) -> int:
    """Live users lost when `kfops user add --live` lands in the middle of an apply."""
    lost = 0
    rng = random.Random(19)
    with RunningEmulator(SETTINGS, FaultPlan()) as emulator:
        kubeconfig = emulator.write_kubeconfig(folder / "kubeconfig-live")
        path = platform_file(folder / "live", ["file@example.com"])
        finish(kfops("apply", "-f", str(path), "--offline", "--kubeconfig", str(kubeconfig),
                     "-o", "json"))
        for trial in range(trials):
            # Each apply changes Dex's config (one more file user), so it writes it.
            platform_file(folder / "live", [f"file{n}@example.com" for n in range(trial + 1)])
            apply = kfops("apply", "-f", str(path), "--offline", "--kubeconfig",
                          str(kubeconfig), "-o", "json")
            _wait_for_lease_holder(emulator)
            time.sleep(rng.uniform(0, 3))
            finish(kfops("user", "add", f"live{trial}@example.com", "--live",
                         "--password-stdin", "--cost", "10", "--kubeconfig", str(kubeconfig),
                         stdin=""), "a-long-enough-password\n")
            finish(apply)
            listed = json.loads(finish(kfops("user", "list", "--live", "--kubeconfig",
                                             str(kubeconfig), "-o", "json")))
            live = {u["email"] for u in listed if u["source"] == "live"}
            lost += sum(1 for n in range(trial + 1) if f"live{n}@example.com" not in live)
    return lost


def _wait_for_lease_holder(emulator: RunningEmulator) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with emulator.lock:
            stored = emulator.state.objects.get(LEASE)
            if stored and (stored.obj.get("spec") or {}).get("holderIdentity"):
                return
        time.sleep(0.05)
    raise SystemExit("the apply never took its Lease")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--installs", type=int, default=3)
    parser.add_argument("--live", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfops-bench-") as temp:
        folder = Path(temp)
        values = generated(folder)
        lost = file_edits(folder, args.edits)
        print(f"two `user add` at once, {args.edits} trials: {lost} users lost (goal 0)",
              flush=True)
        for n, (changed, differing, waited) in enumerate(
                racing_first_installs(folder, args.installs, values), 1):
            print(f"two first applies at once, trial {n}: {changed} Secret values changed after "
                  f"creation (goal 0), {differing} state directories differ from the cluster "
                  f"(goal 0); {'one waited for the other' if waited else 'no overlap'}",
                  flush=True)
        changed, total, kept, restarted, readers = rotation(folder, values)
        print(f"--rotate-secrets: {changed} of {total} generated values changed; kept "
              f"{', '.join(kept) or 'none'}; {restarted} of {readers} reading Deployments "
              "restarted", flush=True)
        lost = racing_live_adds(folder, args.live)
        print(f"apply racing `user add --live`, {args.live} trials: {lost} live users lost "
              "(goal 0)", flush=True)


if __name__ == "__main__":
    main()
