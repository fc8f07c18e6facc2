"""Two administrators at once: one apply per install (its Lease), generated values created once.

Each test makes the race happen at a known moment (a progress hook, a held
Lease, a killed process) instead of hoping two processes overlap.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfops.cli import main
from kfops.cluster import (
    ApplyOptions,
    Cluster,
    InstallLease,
    LeaseHolder,
    LeaseSettings,
    holder_identity,
)
from kfops.config import LoadedPlatform, load_platform
from kfops.errors import Busy
from kfops.objects import secret_value
from kfops.operations import ApplyResult, apply_platform, plan_platform
from kfops.render import GENERATED_DIGEST, RenderOptions
from tests.conftest import FAST_WAITS, NO_BACKOFF, ROOT, PlatformWriter
from tests.emulator import RunningEmulator

LEASE = ("coordination.k8s.io", "leases", "kube-system", "kfops-lab")
QUICK = LeaseSettings(duration=2, renew=0.3, poll=0.05)
KILLED_APPLY = """
import sys, time
from pathlib import Path
from kfops.cluster import ApplyOptions, Cluster, LeaseSettings
from kfops.config import load_platform
from kfops.operations import apply_platform
from kfops.render import RenderOptions

class HangAtFirstStep:
    def step(self, label, total):
        print("applying", flush=True)
        time.sleep(3600)
    def object_done(self, what, outcome): pass
    def waiting(self, what, reasons): pass

with Cluster.connect(Path(sys.argv[1])) as cluster:
    apply_platform(load_platform(Path(sys.argv[2])), cluster,
                   ApplyOptions(lease=LeaseSettings(duration=2, renew=0.3)),
                   render_options=RenderOptions(offline=True), progress=HangAtFirstStep())
"""


class _Hook:
    """Progress that runs `action` once, when `when(label)` first says so at a step."""

    def __init__(self, when: Any, action: Any) -> None:
        self.when, self.action, self.done = when, action, False

    def step(self, label: str, total: int) -> None:
        if not self.done and self.when(label):
            self.done = True
            self.action()

    def object_done(self, what: str, outcome: str) -> None:
        pass

    def waiting(self, what: str, reasons: list[str]) -> None:
        pass


def _apply(loaded: LoadedPlatform, cluster: Cluster, **kwargs: Any) -> ApplyResult:
    return apply_platform(loaded, cluster, ApplyOptions(waits=FAST_WAITS, lease=QUICK),
                          render_options=RenderOptions(offline=True), **kwargs)


def _lease(emulator: RunningEmulator) -> dict[str, Any] | None:
    with emulator.lock:
        stored = emulator.state.objects.get(LEASE)
        return dict(stored.obj) if stored else None


def _secret_versions(emulator: RunningEmulator) -> dict[tuple[str, str, str], list[str]]:
    """(namespace, Secret, key) -> every value it held, in the order written."""
    values: dict[tuple[str, str, str], list[str]] = {}
    with emulator.lock:
        for written in emulator.state.history:
            if written.key[:2] != ("", "secrets"):
                continue
            for key, value in (written.obj.get("data") or {}).items():
                held = values.setdefault((written.key[2], written.key[3], key), [])
                if not held or held[-1] != value:
                    held.append(value)
    return values


def _changed_after_creation(emulator: RunningEmulator, generated: set[tuple[str, str, str]]
                            ) -> list[tuple[str, str, str]]:
    return sorted(k for k, held in _secret_versions(emulator).items()
                  if k in generated and len(held) > 1)


def _generated_keys(result: ApplyResult) -> set[tuple[str, str, str]]:
    return {(g.secret[2], g.secret[3], g.key) for g in result.render.bundle.generated}


def _state_values(folder: Path) -> dict[str, str]:
    return dict(json.loads((folder / ".kfops" / "secrets.json").read_text()))


def _cluster_values(cluster: Cluster, result: ApplyResult) -> dict[str, str]:
    values = {}
    for generated in result.render.bundle.generated:
        _, kind, namespace, name = generated.secret
        live = cluster.get("v1", kind, name, namespace)
        assert live is not None
        value = secret_value(live, generated.key)
        assert value is not None
        values[generated.state_name] = value
    return values


@pytest.fixture(autouse=True)
def _no_state_dir_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KFOPS_STATE_DIR", raising=False)


@pytest.fixture
def second(kubeconfig: Path) -> Iterator[Cluster]:
    """Another client of the same cluster (another administrator's)."""
    with Cluster.connect(kubeconfig, retry=NO_BACKOFF) as client:
        yield client


# ---- the Lease on its own --------------------------------------------------------------


def test_a_held_lease_is_refused_with_no_wait_naming_holder_and_since(
        cluster: Cluster, second: Cluster, emulator: RunningEmulator) -> None:
    with InstallLease(cluster, "lab", QUICK):
        with pytest.raises(Busy) as refused:
            InstallLease(second, "lab", LeaseSettings(wait=False)).__enter__()
        message = str(refused.value)
        assert f"held by {holder_identity()} since 20" in message
        assert "kube-system/kfops-lab" in message and "--no-wait" in message
        time.sleep(QUICK.duration + 0.5)  # renewed meanwhile: still held past its duration
        with pytest.raises(Busy):
            InstallLease(second, "lab", LeaseSettings(wait=False)).__enter__()

    lease = _lease(emulator)
    assert lease is not None and "holderIdentity" not in lease["spec"]  # given back
    with InstallLease(second, "lab", LeaseSettings(wait=False)):
        taken = _lease(emulator)
        assert taken is not None and taken["spec"]["leaseTransitions"] == 1


def test_a_waiting_run_is_told_once_and_goes_on_when_the_lease_is_given_back(
        cluster: Cluster, second: Cluster) -> None:
    told: list[LeaseHolder] = []
    acquired = threading.Event()

    def candidate() -> None:
        with InstallLease(second, "lab", QUICK, on_wait=told.append):
            acquired.set()

    with InstallLease(cluster, "lab", QUICK):
        waiting = threading.Thread(target=candidate)
        waiting.start()
        deadline = time.monotonic() + 10
        while not told and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not acquired.is_set()
    waiting.join(timeout=10)

    assert acquired.is_set()
    assert [h.identity for h in told] == [holder_identity()]


def test_plan_does_not_take_the_lease(platform_file: PlatformWriter, cluster: Cluster,
                                      second: Cluster, emulator: RunningEmulator) -> None:
    loaded = load_platform(platform_file())
    with InstallLease(second, "lab", QUICK):  # held (and renewed) throughout: plan never waits
        plan_platform(loaded, cluster, RenderOptions(offline=True))
        lease = _lease(emulator)

    assert lease is not None and lease["spec"]["holderIdentity"] == holder_identity()
    assert lease["spec"]["leaseTransitions"] == 0
    assert emulator.writes() == []


# ---- applies ---------------------------------------------------------------------------


def test_a_second_apply_waits_for_the_first_and_adopts_its_generated_values(
        platform_file: PlatformWriter, kubeconfig: Path, cluster: Cluster,
        emulator: RunningEmulator, tmp_path: Path) -> None:
    """Two first installs from two checkouts: the second, a real process, waits."""
    first = load_platform(platform_file(folder=tmp_path / "admin-1"))
    second_file = platform_file(folder=tmp_path / "admin-2")
    errors = tmp_path / "admin-2.err"
    processes: list[subprocess.Popen[bytes]] = []

    def start_the_second() -> None:
        with errors.open("wb") as sink:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "kfops", "apply", "-f", str(second_file), "--offline",
                 "--kubeconfig", str(kubeconfig), "-o", "json"],
                stdout=subprocess.PIPE, stderr=sink, cwd=ROOT))
        deadline = time.monotonic() + 240
        while "waiting" not in errors.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)

    result = _apply(first, cluster, progress=_Hook(lambda _: True, start_the_second))
    out, _ = processes[0].communicate(timeout=600)

    assert processes[0].returncode == 0, errors.read_text()
    assert f"by {holder_identity()} since" in errors.read_text()
    generated = _generated_keys(result)
    assert sorted(json.loads(out)["adopted"]) == sorted({g.state_name for g in
                                                        result.render.bundle.generated})
    assert _changed_after_creation(emulator, generated) == []
    values = _cluster_values(cluster, result)
    for admin in ("admin-1", "admin-2"):
        state = _state_values(tmp_path / admin)
        assert {name: state[name] for name in values} == values


def test_no_wait_apply_and_uninstall_exit_1_naming_who_applies(
        platform_file: PlatformWriter, kubeconfig: Path, second: Cluster,
        emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    path = platform_file()
    with InstallLease(second, "lab", QUICK):
        codes = [main([*command, "-f", str(path), "--kubeconfig", str(kubeconfig),
                       "--no-wait"])
                 for command in (["apply", "--offline"], ["uninstall", "--yes"])]
    err = capsys.readouterr().err

    assert codes == [1, 1]
    assert err.count("another kfops operation is in progress") == 2
    assert err.count(f"held by {holder_identity()} since") == 2
    assert emulator.writes() == []


def test_a_lease_left_by_a_killed_apply_is_taken_over_after_it_lapses(
        platform_file: PlatformWriter, kubeconfig: Path, cluster: Cluster,
        emulator: RunningEmulator) -> None:
    path = platform_file()
    killed = subprocess.Popen([sys.executable, "-c", KILLED_APPLY, str(kubeconfig), str(path)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert killed.stdout is not None and killed.stdout.readline() == "applying\n"
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate()
    left = _lease(emulator)
    assert left is not None and left["spec"]["holderIdentity"].endswith(f"pid {killed.pid}")
    told: list[LeaseHolder] = []

    result = _apply(load_platform(path), cluster, on_wait=told.append)

    assert [h.identity for h in told] == [left["spec"]["holderIdentity"]]
    taken = _lease(emulator)
    assert taken is not None and taken["spec"]["leaseTransitions"] == 1
    assert "holderIdentity" not in taken["spec"]
    assert len(result.summary.created) == len(result.render.bundle.objects)


def test_a_generated_secret_another_install_created_first_is_adopted_never_overwritten(
        platform_file: PlatformWriter, cluster: Cluster, second: Cluster,
        emulator: RunningEmulator) -> None:
    """The other install took the Lease over (this one stalled): the create is the arbiter."""
    loaded = load_platform(platform_file())
    theirs: dict[tuple[str, str, str], str] = {}

    def namespaces_exist(_: str) -> bool:
        return all(second.get("v1", "Namespace", ns) is not None
                   for ns in ("kubeflow", "auth", "oauth2-proxy"))

    def create_theirs() -> None:
        from kfops.operations import render_platform  # noqa: PLC0415 - their own render
        other = render_platform(loaded, RenderOptions(offline=True,
                                                      state_dir=Path(loaded.path).parent / "x"))
        secrets = {g.secret for g in other.bundle.generated}
        for item in other.bundle.objects:
            if item.identity in secrets:
                second.create(item.obj)
                for key, value in item.obj["data"].items():
                    theirs[(item.identity[2], item.identity[3], key)] = value

    result = _apply(loaded, cluster, progress=_Hook(namespaces_exist, create_theirs))

    generated = _generated_keys(result)
    assert theirs and generated <= set(theirs)
    assert sorted(result.adopted) == sorted({g.state_name for g in result.render.bundle.generated})
    assert _changed_after_creation(emulator, generated) == []
    for namespace, name, key in generated:
        live = cluster.get("v1", "Secret", name, namespace)
        assert live is not None and live["data"][key] == theirs[(namespace, name, key)]
    state = _state_values(Path(loaded.path).parent)
    assert {n: state[n] for n in _cluster_values(cluster, result)} == \
        _cluster_values(cluster, result)
    before = len(emulator.writes())
    _apply(loaded, cluster)
    assert emulator.writes()[before:] == []


# ---- rotation --------------------------------------------------------------------------


def _readers(result: ApplyResult) -> dict[str, str]:
    """Workload -> its generated-values digest (the workloads that read a generated value)."""
    found = {}
    for item in result.render.bundle.objects:
        template = (item.obj.get("spec") or {}).get("template") or {}
        digest = ((template.get("metadata") or {}).get("annotations") or {}).get(
            GENERATED_DIGEST)
        if digest:
            found[f"{item.obj['kind']} {item.identity[2]}/{item.identity[3]}"] = digest
    return found


def _secret_data(result: ApplyResult) -> dict[tuple[str, str, str, str], Any]:
    return {o.identity: o.obj.get("data") for o in result.render.bundle.objects
            if o.obj["kind"] == "Secret"}


def _reads(workload: dict[str, Any], secret: str) -> bool:
    text = json.dumps(workload["spec"]["template"]["spec"])
    return f'"name": "{secret}"' in text or f'"secretName": "{secret}"' in text


def test_rotate_secrets_changes_every_value_but_database_passwords_and_restarts_readers(
        platform_file: PlatformWriter, cluster: Cluster, tmp_path: Path) -> None:
    loaded = load_platform(platform_file())
    before = _apply(loaded, cluster)
    old = _cluster_values(cluster, before)

    rotated = _apply(loaded, cluster, rotate_secrets=True)

    new = _cluster_values(cluster, rotated)
    databases = {g.state_name for g in rotated.render.bundle.generated if not g.rotatable}
    assert databases == {"katib-mysql-password", "pipelines-mysql-password"}
    assert rotated.not_rotated == sorted(databases)
    assert sorted(n for n in new if new[n] != old[n]) == sorted(set(new) - databases)
    assert len(set(new) - databases) == 4
    assert {n: v for n, v in _state_values(tmp_path).items() if n in new} == new
    # Every workload reading a rotated Secret rolls: its pod template changed.
    old_data = _secret_data(before)
    changed = {identity[3] for identity, data in _secret_data(rotated).items()
               if data != old_data[identity]}
    assert len(changed) == 3  # Dex's and oauth2-proxy's OIDC client secrets, the object store
    readers = [f"{o.obj['kind']} {o.identity[2]}/{o.identity[3]}"
               for o in rotated.render.bundle.objects
               if o.obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet")
               and any(_reads(o.obj, name) for name in changed)]
    assert len(readers) >= 5
    old_digests, new_digests = _readers(before), _readers(rotated)
    assert [r for r in readers if old_digests.get(r) == new_digests.get(r)] == []
    assert set(readers) <= set(rotated.summary.updated)
