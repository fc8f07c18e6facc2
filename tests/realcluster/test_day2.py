"""Day 2 on a real control plane: users and profiles `--live`, `kfops check`, `kfops gpu test`,
and the install's Lease and generated Secrets under real races.

One small install is shared by the tests: the 26.03 local platform with every optional
component switched off, which still renders Dex (its ConfigMap, the `dex-passwords` Secret,
the Deployment), the profile controller's CRDs, Istio and cert-manager. The races are real:
four administrators' processes (or threads) write at once, and the API server's audit log
shows the resourceVersion conflicts (409) they met.
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kfops.cluster import (
    Cluster,
    GeneratedValueHeld,
    InstallLease,
    LeaseSettings,
    holder_identity,
    keep_values,
    write_guarded,
)
from kfops.config import UserEntry, load_platform
from kfops.identity import DexUsers, hash_password, user_hash_env, verify_password
from kfops.objects import secret_value
from kfops.operations import render_platform
from kfops.render import RenderOptions
from kfops.targets import starter_text
from tests.conftest import ROOT
from tests.controlplane import GPU_NODE, GPU_TAINT, ControlPlane
from tests.controlplane._run import Write
from tests.controlplane._webhookless import kustomize_wrapper
from tests.helpers.cli import kfops
from tests.helpers.presets import fill, offline
from tests.helpers.rest import Rest
from tests.realcluster._install import Install

pytestmark = pytest.mark.render

ADMINS = 4
USERS_EACH = 5
COST = "10"
DEX = {("configmaps", "auth", "dex"), ("secrets", "auth", "dex-passwords")}
EVERYTHING_OFF = "".join(f"    {name}: false\n" for name in (
    "pipelines", "katib", "kserve", "notebooks", "tensorboards", "volumes", "trainer",
    "sparkOperator", "knativeServing", "knativeEventing", "modelRegistry"))


class Lab(Install):
    """The install, the control plane and a raw client to look at it."""

    @property
    def where(self) -> tuple[str, str]:
        return "--kubeconfig", str(self.plane.kubeconfig)

    def run(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        """`kfops ARGV` in this process, with `stdin` as its standard input."""
        saved = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            return kfops(*argv, *self.where)
        finally:
            sys.stdin = saved

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> Any:
        obj = {"apiVersion": api_version, "kind": kind,
               "metadata": {"name": name, "namespace": namespace}}
        answer = self.rest.get(obj)
        return answer.json() if answer.status_code == 200 else None

    def dex(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Dex's ConfigMap and its `dex-passwords` Secret, as the cluster holds them now."""
        return self.get("v1", "ConfigMap", "dex", "auth"), \
            self.get("v1", "Secret", "dex-passwords", "auth")

    def writes_since(self, mark: int) -> list[Write]:
        return self.plane.writes()[mark:]


def platform_text(extra: str = "") -> str:
    """The filled local starter with every optional component off (and `extra` in spec)."""
    text = offline(fill(starter_text("local")), "26.03")
    marker = "  # components:                   # left out"
    assert marker in text
    return text.replace(marker, f"  components:\n{EVERYTHING_OFF}{extra}  # components left out",
                        1)


@pytest.fixture(scope="module")
def lab(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory,
        webhookless_cache: Path) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("day2")
    path = folder / "admin-1" / "platform.yaml"
    path.parent.mkdir()
    path.write_text(platform_text())
    tools = kustomize_wrapper(folder / "tools")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_KUSTOMIZE", str(tools))
        patch.setenv("KFOPS_CACHE_DIR", str(webhookless_cache))
        patch.setenv("HOME", str(folder / "home"))
        code, _out, err = kfops("apply", "-f", str(path), "--offline", "--timeout", "300",
                                "--kubeconfig", str(control_plane.kubeconfig))
    assert code == 0, err
    rest = Rest.from_kubeconfig(control_plane.kubeconfig)
    yield Lab(path, control_plane, rest, tools)
    rest.close()


@pytest.fixture(autouse=True)
def without_webhooks(lab: Lab, webhookless_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFOPS_KUSTOMIZE", str(lab.tools))
    monkeypatch.setenv("KFOPS_CACHE_DIR", str(webhookless_cache))


def in_threads(work: dict[str, Callable[[], None]], timeout: float = 120) -> None:
    """Run each of `work` in a thread of that name; re-raise the first failure here."""
    failures: list[BaseException] = []

    def guarded(call: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                call()
            except BaseException as error:  # reported in the test's thread
                failures.append(error)
        return run

    threads = [threading.Thread(target=guarded(call), name=name) for name, call in work.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    if failures:
        raise failures[0]


# ---- kfops check and kfops gpu test ------------------------------------------------------


def test_check_and_gpu_test_on_the_kwok_gpu_node(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(platform_text() + "  gpu:\n    enabled: true\n    install: none\n")
    code, out, err = kfops("check", "-f", str(path), "-o", "json", *lab.where)
    assert code == 0, out + err
    rows = {r["check"]: r for r in json.loads(out)}
    with lab.plane.client() as client:
        version = client.get("/version").json()
    assert (version["major"], version["minor"]) == ("1", "35")
    assert rows["kubernetes"] == {"check": "kubernetes", "state": "pass",
                                  "detail": "1.35 (release 26.03 is tested on 1.34 to 1.36)"}
    assert (rows["storage"]["state"], rows["storage"]["detail"]) == (
        "pass", "standard is the default StorageClass")
    assert (rows["gpus"]["state"], rows["gpus"]["detail"]) == (
        "pass", "4 nvidia.com/gpu allocatable on 1 node(s)")

    events: list[dict[str, Any]] = []
    watching = threading.Event()

    def watch() -> None:
        """Every change to the test's pod, from before its Job exists until it is deleted."""
        selector = {"labelSelector": "kfops.io/gpu-test"}
        with lab.plane.client() as client:
            listed = client.get("/api/v1/namespaces/default/pods", params=selector)
            params = {**selector, "watch": "true", "timeoutSeconds": "60",
                      "resourceVersion": listed.json()["metadata"]["resourceVersion"]}
            with client.stream("GET", "/api/v1/namespaces/default/pods", params=params,
                               timeout=httpx.Timeout(30, read=70)) as stream:
                watching.set()
                for line in stream.iter_lines():
                    events.append(json.loads(line))
                    if events[-1]["type"] == "DELETED":
                        return

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert watching.wait(30)
    code, out, err = kfops("gpu", "test", "-f", str(path), "--timeout", "60", "-o", "json",
                           *lab.where)
    watcher.join(60)
    assert not watcher.is_alive(), "the test pod was not deleted"

    # kwok runs the container and completes it, but keeps no log: kfops says it cannot tell.
    report = json.loads(out)
    assert code == 1, err
    assert (report["passed"], report["failedStep"], report["node"], report["provisioned"],
            report["gpus"]) == (False, "no log", GPU_NODE, False, [])
    assert report["detail"].startswith(f"the pod ran on {GPU_NODE} and nvidia-smi exited 0, "
                                       "but its log could not be read (Pod default/")
    assert 'no logs found for container "nvidia-smi"' in report["detail"]
    assert "admission" not in report["detail"]
    pods = {e["object"]["metadata"]["name"] for e in events}
    assert len(pods) == 1
    seen = [e["object"] for e in events]
    assert {p["spec"].get("nodeName") for p in seen} <= {None, GPU_NODE}
    assert seen[-1]["spec"]["nodeName"] == GPU_NODE
    assert {"operator": "Equal", **GPU_TAINT} in seen[-1]["spec"]["tolerations"]
    assert seen[-1]["spec"]["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    assert "Succeeded" in {(p.get("status") or {}).get("phase") for p in seen}
    assert events[-1]["type"] == "DELETED"
    assert lab.get("batch/v1", "Job", report["job"], "default") is None


# ---- four administrators change Dex's users at once --------------------------------------

_ADMIN = """
import io, json, sys, time
from pathlib import Path
from kfops.cli import main

kubeconfig, folder, me = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
phases = json.loads(sys.argv[4])
for number, commands in enumerate(phases):
    while not (folder / f"go-{number}").exists():  # every administrator starts together
        time.sleep(0.02)
    codes = []
    for argv, password in commands:
        sys.stdin = io.StringIO(password + "\\n")
        codes.append(main([*argv, "--live", "--kubeconfig", kubeconfig]))
    # Written aside and renamed: the test polls for the name and must never read it half-written.
    (folder / f"codes-{number}-{me}").write_text(json.dumps(codes))
    (folder / f"codes-{number}-{me}").rename(folder / f"done-{number}-{me}")
"""


def email(admin: int, number: int) -> str:
    return f"user-{admin}-{number}@example.com"


def first_password(admin: int, number: int) -> str:
    return f"first secret of {admin}-{number}"


def second_password(admin: int, number: int) -> str:
    return f"second secret of {admin}-{number}"


def lost_edits(lab: Lab, wanted: dict[str, str], gone: set[str]) -> list[str]:
    """How Dex's users differ from `wanted` (e-mail -> the password last set) and `gone`."""
    config_map, secret = lab.dex()
    entries = {e["email"]: e for e in yaml.safe_load(config_map["data"]["config.yaml"])[
        "staticPasswords"]}
    lost = [f"{address} is missing" for address in wanted if address not in entries]
    lost += [f"{address} is still there" for address in gone if address in entries]
    for address, password in wanted.items():
        stored = secret_value(secret, user_hash_env(address))
        if address in entries and entries[address]["hashFromEnv"] != user_hash_env(address):
            lost.append(f"{address} names another variable")
        if stored is None or not verify_password(password, stored):
            lost.append(f"{address} has not the password last set")
    lost += [f"{address}'s hash is still in the Secret" for address in gone
             if user_hash_env(address) in secret["data"]]
    if set(entries) != {*wanted, "user@example.com"}:
        lost.append(f"Dex has users {sorted(entries)}")
    live = json.loads(config_map["metadata"]["annotations"]["kfops.io/live-users"])
    if sorted(live) != sorted(wanted):
        lost.append(f"the live users are recorded as {live}")
    return lost


def test_four_admins_add_change_and_remove_users_live_and_lose_no_edit(
        lab: Lab, tmp_path: Path) -> None:
    """Each administrator is a process of its own running the CLI: first each adds 5 users at
    once; then each changes the passwords of 2 of another administrator's users, removes one
    of its own and adds one more, all at once."""
    passwd = ("user", "passwd", "--password-stdin", "--cost", COST)

    def phases(admin: int) -> list[list[tuple[list[str], str]]]:
        other = admin % ADMINS + 1
        adding = [(["user", "add", email(admin, n), "--password-stdin", "--cost", COST],
                   first_password(admin, n)) for n in range(1, USERS_EACH + 1)]
        changing = [([*passwd, email(other, n)], second_password(other, n)) for n in (1, 2)]
        changing.append((["user", "remove", email(admin, USERS_EACH)], ""))
        changing.append((["user", "add", email(admin, 6), "--password-stdin", "--cost", COST],
                         first_password(admin, 6)))
        return [adding, changing]

    mark = len(lab.plane.writes())
    processes = {admin: subprocess.Popen(
        [sys.executable, "-c", _ADMIN, str(lab.plane.kubeconfig), str(tmp_path), str(admin),
         json.dumps(phases(admin))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT) for admin in range(1, ADMINS + 1)}
    codes: dict[tuple[int, int], list[int]] = {}
    try:
        for phase in (0, 1):
            (tmp_path / f"go-{phase}").touch()
            deadline = time.monotonic() + 120
            for admin, process in processes.items():
                done = tmp_path / f"done-{phase}-{admin}"
                while not done.exists():
                    assert process.poll() is None, process.communicate()
                    assert time.monotonic() < deadline, f"admin {admin} is stuck in {phase}"
                    time.sleep(0.05)
                codes[(phase, admin)] = json.loads(done.read_text())
    finally:
        outputs = {admin: p.communicate(timeout=60) for admin, p in processes.items()}
    for admin, (out, err) in outputs.items():
        assert processes[admin].returncode == 0, err
        assert err == "", err
        assert out.count("; Dex restarted") == USERS_EACH + 4, out
    assert all(c == 0 for phase in codes.values() for c in phase), codes

    # Every edit is there: 4 x 5 users stay (2 each with their new password), 4 are gone.
    wanted = {email(a, n): (second_password(a, n) if n in (1, 2) else first_password(a, n))
              for a in range(1, ADMINS + 1) for n in (1, 2, 3, 4, 6)}
    gone = {email(a, USERS_EACH) for a in range(1, ADMINS + 1)}
    assert lost_edits(lab, wanted, gone) == []
    code, out, _ = lab.run("user", "list", "--live", "-o", "json")
    assert code == 0
    assert {u["email"]: u["source"] for u in json.loads(out)} == {
        "user@example.com": "release-default", **dict.fromkeys(wanted, "live")}

    # The race was real: the API server refused writes made on a version another had changed.
    writes = [w for w in lab.writes_since(mark) if (w.resource, w.namespace, w.name) in DEX]
    conflicts = [w for w in writes if w.code == 409]
    print(f"\n{ADMINS} admins, {len(wanted) + len(gone)} users added, "
          f"{2 * ADMINS} passwords changed, {len(gone)} removed: {len(writes)} writes to "
          f"Dex's ConfigMap and Secret, {len(conflicts)} answered 409, 0 edits lost")
    assert conflicts, "no write met a conflict: the administrators did not race"
    assert {w.code for w in writes} <= {200, 409}


# ---- profiles --------------------------------------------------------------------------


def play_profile_controller(plane: ControlPlane, name: str) -> Callable[[], None]:
    """The one job of Kubeflow's profile controller the tests need: the Profile's namespace,
    owned by the Profile, made once the Profile exists."""

    def run() -> None:
        with plane.client() as client:
            deadline = time.monotonic() + 60
            while (answer := client.get(f"/apis/kubeflow.org/v1/profiles/{name}")) \
                    .status_code != 200:
                assert time.monotonic() < deadline, f"no Profile {name} was created"
                time.sleep(0.05)
            uid = answer.json()["metadata"]["uid"]
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": name, "labels": {"app.kubernetes.io/part-of": "kubeflow-profile"},
                "ownerReferences": [{"apiVersion": "kubeflow.org/v1", "kind": "Profile",
                                     "name": name, "uid": uid, "controller": True,
                                     "blockOwnerDeletion": True}]}}
            created = client.post("/api/v1/namespaces", json=namespace)
            assert created.status_code == 201, created.text

    return run


def create_until_accepted(lab: Lab, obj: dict[str, Any]) -> None:
    """Create obj; a new namespace's pods wait for its `default` ServiceAccount."""
    deadline = time.monotonic() + 30
    while (answer := lab.rest.create(obj)).status_code != 201:
        assert answer.status_code == 403 and time.monotonic() < deadline, answer.text
        time.sleep(0.1)


def create_live_profile(lab: Lab, name: str, *flags: str) -> tuple[int, str, str]:
    """`kfops profile create NAME --live`, while the test plays the profile controller."""
    created: list[tuple[int, str, str]] = []

    def create() -> None:
        created.append(lab.run("profile", "create", name, "--owner", "ann@example.com",
                               *flags, "--live"))

    in_threads({"admin": create, "profile-controller": play_profile_controller(lab.plane, name)})
    [result] = created
    return result


def test_profile_create_live_waits_for_its_namespace(lab: Lab) -> None:
    name = "team-live"
    mark = len(lab.plane.writes())
    code, out, err = create_live_profile(lab, name, "--quota", "cpu=4,nvidia.com/gpu=1",
                                         "--pod-defaults", "pipelineAccess,gpuToleration")
    assert (code, out.strip()) == (0, f"created profile {name} (namespace {name})"), err
    profile = lab.get("kubeflow.org/v1", "Profile", name)
    assert profile["metadata"]["annotations"]["kfops.io/created-by"] == "live"
    assert profile["spec"] == {"owner": {"kind": "User", "name": "ann@example.com"},
                               "resourceQuotaSpec": {"hard": {
                                   "cpu": "4", "requests.nvidia.com/gpu": "1"}}}
    gpu = lab.get("kubeflow.org/v1alpha1", "PodDefault", "gpu-toleration", name)
    assert gpu["spec"]["tolerations"] == [{"operator": "Equal", **GPU_TAINT}]
    assert lab.get("kubeflow.org/v1alpha1", "PodDefault", "access-ml-pipeline", name)
    # kfops waited for the namespace: it wrote into it only after the controller made it.
    order = [(w.resource, w.code) for w in lab.writes_since(mark)]
    assert order.index(("namespaces", 201)) < order.index(("poddefaults", 201))

    code, _, err = lab.run("profile", "create", name, "--owner", "ann@example.com", "--live")
    assert (code, f"profile {name} already exists" in err) == (2, True)
    assert lab.rest.create({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": "plain"}}).status_code == 201
    code, _, err = lab.run("profile", "create", "plain", "--owner", "ann@example.com", "--live")
    assert (code, "namespace plain already exists and is not a profile's" in err) == (2, True)
    assert lab.get("kubeflow.org/v1", "Profile", "plain") is None

    # Contributors as KFAM writes them; the API server's lists name no kind on their items.
    for argv in (("add", name, "bob@example.com", "--role", "view"),
                 ("add", name, "cy@example.com"), ("remove", name, "cy@example.com")):
        assert lab.run("profile", "contributor", *argv, "--live")[0] == 0, argv
    assert lab.get("rbac.authorization.k8s.io/v1", "RoleBinding",
                   "user-cy-example-com-clusterrole-edit", name) is None
    code, out, _ = lab.run("profile", "list", "--live", "-o", "json")
    assert json.loads(out) == [
        {"name": "kubeflow-user-example-com", "owner": "user@example.com",
         "source": "platform-file", "contributors": {}, "quota": {}},
        {"name": name, "owner": "ann@example.com", "source": "live",
         "contributors": {"bob@example.com": "view"},
         "quota": {"cpu": "4", "requests.nvidia.com/gpu": "1"}}]


def test_profile_delete_live_asks_and_keeps_users_data_unless_purged(lab: Lab) -> None:
    name = "team-gone"
    assert create_live_profile(lab, name)[0] == 0
    profile = lab.get("kubeflow.org/v1", "Profile", name)
    # A user's notebook and its volume (kwok runs the pod; the host-path provisioner binds).
    create_until_accepted(lab, {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "notebook-0", "namespace": name}, "spec": {"containers": [{
            "name": "notebook", "image": "jupyter:latest",
            "resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}}]}})
    assert lab.rest.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
        "name": "workspace", "namespace": name}, "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}}}).status_code == 201

    mark = len(lab.plane.writes())
    code, _, err = lab.run("profile", "delete", name, "--live", "--yes")
    assert code == 1
    assert f"profile {name}: its namespace holds PersistentVolumeClaims (workspace); nothing " \
           "was changed (--purge-data deletes them with the profile)" in err
    code, out, err = lab.run("profile", "delete", name, "--live", "--purge-data", stdin="n\n")
    assert (code, "Aborted" in err) == (1, True)
    assert f"Delete profile {name}: the Profile and its namespace {name} with everything in " \
           "it (1 pod(s); PersistentVolumeClaims workspace (their data is lost))?" in out
    assert lab.writes_since(mark) == []  # kept: nothing was written
    assert lab.get("kubeflow.org/v1", "Profile", name) is not None
    assert lab.get("v1", "PersistentVolumeClaim", "workspace", name) is not None

    code, out, _ = lab.run("profile", "delete", name, "--live", "--purge-data", stdin="y\n")
    assert (code, out.endswith(f"[y/N]: deleted profile {name}\n")) == (0, True)
    assert [(w.verb, w.resource, w.name) for w in lab.writes_since(mark)] == [
        ("delete", "profiles", name)]
    assert lab.get("kubeflow.org/v1", "Profile", name) is None
    # The namespace goes with it: the garbage collector's work (within its next discovery
    # resync, up to 30 s), owed to the owner reference the profile controller set.
    namespace = lab.get("v1", "Namespace", name)
    assert namespace is None or [o["uid"] for o in namespace["metadata"]["ownerReferences"]] \
        == [profile["metadata"]["uid"]]
    code, out, _ = lab.run("profile", "list", "--live", "-o", "json")
    assert (code, name in {p["name"] for p in json.loads(out)}) == (0, False)


# ---- the install's Lease and generated Secrets -----------------------------------------


def test_lease_and_generated_secret_under_real_races(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four administrators' threads, each with its own connection and holder identity."""
    monkeypatch.setattr("kfops.cluster._lease.holder_identity",
                        lambda: f"{threading.current_thread().name}@day2")
    settings = LeaseSettings(duration=10, renew=0.5, poll=0.05)
    holds: list[tuple[str, float, float, str]] = []
    lease_start, secret_start = threading.Barrier(ADMINS), threading.Barrier(ADMINS)
    outcomes: dict[str, str] = {}
    mark = len(lab.plane.writes())

    def admin(me: str) -> Callable[[], None]:
        def run() -> None:
            with Cluster.connect(lab.plane.kubeconfig) as cluster:
                lease_start.wait()
                with InstallLease(cluster, "day2-race", settings):
                    entered = time.monotonic()
                    live = cluster.get("coordination.k8s.io/v1", "Lease", "kfops-day2-race",
                                       "kube-system")
                    assert live is not None
                    time.sleep(0.3)
                    holds.append((me, entered, time.monotonic(),
                                  str(live["spec"]["holderIdentity"])))
                secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                          "metadata": {"name": "generated-race", "namespace": "kubeflow"},
                          "stringData": {"password": f"made by {me}"}}
                secret_start.wait()
                try:
                    outcomes[me] = write_guarded(cluster, secret,
                                                 keep_values(frozenset({"password"})))
                except GeneratedValueHeld:
                    outcomes[me] = "held"
        return run

    in_threads({f"admin-{n}": admin(f"admin-{n}") for n in range(1, ADMINS + 1)})

    # The Lease: held by one administrator at a time, each in turn.
    holds.sort(key=lambda h: h[1])
    assert [h[0] for h in holds] == [h[3].removesuffix("@day2") for h in holds]
    assert sorted(h[0] for h in holds) == [f"admin-{n}" for n in range(1, ADMINS + 1)]
    assert all(later[1] >= earlier[2] for earlier, later in itertools.pairwise(holds))
    lease = lab.get("coordination.k8s.io/v1", "Lease", "kfops-day2-race", "kube-system")
    assert lease["spec"]["leaseTransitions"] == ADMINS - 1 and \
        "holderIdentity" not in lease["spec"]
    # The generated Secret: created once, by one of them; the others kept its value.
    [winner] = [me for me, outcome in outcomes.items() if outcome == "created"]
    assert sorted(outcomes.values()) == ["created", *["held"] * (ADMINS - 1)]
    secret = lab.get("v1", "Secret", "generated-race", "kubeflow")
    assert secret_value(secret, "password") == f"made by {winner}"
    writes = lab.writes_since(mark)
    secret_writes = [(w.verb, w.code) for w in writes if w.name == "generated-race"]
    assert Counter(secret_writes)[("create", 201)] == 1
    assert {verb for verb, _ in secret_writes} == {"create"}  # never changed after its creation
    lease_codes = Counter((w.verb, w.code) for w in writes if w.name == "kfops-day2-race")
    print(f"\nLease writes {dict(lease_codes)}; generated Secret writes {Counter(secret_writes)}")
    assert lease_codes[("create", 201)] == 1
    assert lease_codes[("create", 409)] + lease_codes[("update", 409)] + \
        Counter(secret_writes)[("create", 409)] > 0, "no conflict: the threads did not race"


def generated_values(lab: Lab, path: Path) -> dict[tuple[str, str, str], str | None]:
    """(namespace, Secret, key) -> the value the cluster holds, for every generated value."""
    result = render_platform(load_platform(path), RenderOptions(offline=True))
    found = {}
    for generated in result.bundle.generated:
        _, _kind, namespace, name = generated.secret
        found[(namespace, name, generated.key)] = secret_value(
            lab.get("v1", "Secret", name, namespace), generated.key)
    return found


def test_a_second_admin_apply_waits_for_the_lease_adopts_values_and_keeps_live_users(
        lab: Lab, tmp_path: Path) -> None:
    """While the install's Lease is held, `apply --no-wait` refuses naming the holder; another
    administrator's checkout (a state directory of its own) waits, goes on once the Lease is
    given back, adopts the generated values and keeps the users added live, also those added
    while it runs."""
    second = tmp_path / "admin-2" / "platform.yaml"
    second.parent.mkdir()
    second.write_text(lab.path.read_text())
    before = generated_values(lab, lab.path)
    assert before and all(before.values())
    live_before = set(json.loads(lab.dex()[0]["metadata"]["annotations"]["kfops.io/live-users"]))
    mark = len(lab.plane.writes())
    errors = tmp_path / "apply.err"

    with Cluster.connect(lab.plane.kubeconfig) as cluster, \
            InstallLease(cluster, "lab", LeaseSettings(duration=30, renew=1)):
        code, _, err = kfops("apply", "-f", str(lab.path), "--offline", "--no-wait",
                             *lab.where)
        assert code == 1
        assert "another kfops operation is in progress on this install: Lease " \
               f"kube-system/kfops-lab is held by {holder_identity()} since 20" in err
        with errors.open("w") as sink:
            apply = subprocess.Popen(
                [sys.executable, "-m", "kfops", "apply", "-f", str(second), "--offline",
                 "--timeout", "300", "-o", "json", *lab.where],
                stdout=subprocess.PIPE, stderr=sink, text=True, cwd=ROOT)
        deadline = time.monotonic() + 60
        while "waiting: another kfops operation" not in errors.read_text():
            assert apply.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, "the second apply did not wait"
            time.sleep(0.1)
        waited = [w for w in lab.writes_since(mark) if w.resource != "leases"]
        assert waited == []  # neither wrote anything while the Lease was held
    assert f"by {holder_identity()} since" in errors.read_text()

    added: list[str] = []

    def add_live_users_while_it_applies() -> None:
        with Cluster.connect(lab.plane.kubeconfig) as other:
            users = DexUsers(other)
            while apply.poll() is None and len(added) < 20:
                address = f"meanwhile-{len(added)}@example.com"
                users.add([UserEntry(address, None, hash_password(f"{address} secret", 10))])
                added.append(address)

    in_threads({"admin-3": add_live_users_while_it_applies}, timeout=300)
    out, _ = apply.communicate(timeout=300)
    assert apply.returncode == 0, errors.read_text()
    result = json.loads(out)
    assert sorted(result["adopted"]) == sorted(
        {g.state_name for g in render_platform(load_platform(lab.path), RenderOptions(
            offline=True)).bundle.generated})
    assert generated_values(lab, lab.path) == before
    changed = [w for w in lab.writes_since(mark) if w.resource == "secrets"
               and (w.namespace, w.name) in {(ns, name) for ns, name, _ in before}]
    assert changed == []  # no generated Secret was written again

    # Users added live before the apply and during it are all still there.
    config_map, secret = lab.dex()
    live = json.loads(config_map["metadata"]["annotations"]["kfops.io/live-users"])
    entries = {e["email"] for e in yaml.safe_load(config_map["data"]["config.yaml"])[
        "staticPasswords"]}
    print(f"\n{len(added)} users added live while the second apply ran, "
          f"{len(live_before)} before it")
    assert added
    assert sorted(live) == sorted({*live_before, *added})
    assert {*live_before, *added} <= entries
    for address in added:
        stored = secret_value(secret, user_hash_env(address))
        assert stored is not None and verify_password(f"{address} secret", stored), address
