"""`--live` Dex users on an emulated cluster running Kubeflow's own Dex manifests."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfops.cli import main
from kfops.cluster import ApplyOptions, Cluster, RetryPolicy
from kfops.config import UserEntry, load_platform
from kfops.errors import Forbidden, InputError, OperationError, Unavailable
from kfops.identity import (
    DexUser,
    DexUsers,
    file_users,
    hash_password,
    user_hash_env,
    verify_password,
)
from kfops.objects import secret_value
from kfops.operations import apply_platform
from kfops.render import RenderOptions
from kfops.render._kustomize import find_kustomize
from tests.conftest import FAST_WAITS, MANIFESTS, NO_BACKOFF, PlatformWriter
from tests.emulator import Fault, RunningEmulator

DEX = MANIFESTS / "26.03" / "common" / "dex" / "overlays" / "oauth2-proxy"


@pytest.fixture
def plain_dex(cluster: Cluster) -> None:
    """Dex as `kustomize build common/dex/overlays/oauth2-proxy | kubectl apply` leaves it."""
    objects = [o for o in yaml.safe_load_all(find_kustomize().build(DEX)) if o]
    for obj in sorted(objects, key=lambda o: o["kind"] != "Namespace"):
        if obj["kind"] != "VirtualService":  # Istio's CRD is not part of this check
            cluster.apply(obj)


def _config(cluster: Cluster) -> dict[str, Any]:
    config_map = cluster.get("v1", "ConfigMap", "dex", "auth")
    assert config_map is not None
    return dict(yaml.safe_load(config_map["data"]["config.yaml"]))


def _secret(cluster: Cluster) -> dict[str, Any]:
    secret = cluster.get("v1", "Secret", "dex-passwords", "auth")
    assert secret is not None
    return secret


def _restarts(emulator: RunningEmulator) -> int:
    return sum(1 for w in emulator.writes() if w.path.endswith("/deployments/dex"))


def test_add_passwd_remove_on_a_plain_manifests_install(
        cluster: Cluster, emulator: RunningEmulator, plain_dex: None) -> None:
    users = DexUsers(cluster, FAST_WAITS)
    applied = _restarts(emulator)

    users.add([UserEntry("ann@example.com", "ann", hash_password("first-pass", 10))])

    config = _config(cluster)
    emails = [e["email"] for e in config["staticPasswords"]]
    assert emails == ["user@example.com", "ann@example.com"]  # the upstream entry stays
    assert config["staticPasswords"][0]["hashFromEnv"] == "DEX_USER_PASSWORD"
    assert config["staticClients"][0]["idEnv"] == "OIDC_CLIENT_ID"
    stored = secret_value(_secret(cluster), user_hash_env("ann@example.com"))
    assert stored is not None and verify_password("first-pass", stored)
    assert secret_value(_secret(cluster), "DEX_USER_PASSWORD")
    assert _restarts(emulator) - applied == 1
    assert [(u.email, u.source) for u in users.users()] == [
        ("user@example.com", "other"), ("ann@example.com", "live")]

    users.set_password("ann@example.com", hash_password("second-pass", 10))
    stored = secret_value(_secret(cluster), user_hash_env("ann@example.com"))
    assert stored is not None and verify_password("second-pass", stored)

    users.remove("ann@example.com")
    assert [e["email"] for e in _config(cluster)["staticPasswords"]] == ["user@example.com"]
    assert secret_value(_secret(cluster), user_hash_env("ann@example.com")) is None
    assert _restarts(emulator) - applied == 3  # one per command
    with pytest.raises(InputError, match="not a Dex user"):
        users.remove("ann@example.com")


def test_import_restarts_dex_once_for_the_whole_batch(
        cluster: Cluster, emulator: RunningEmulator, plain_dex: None) -> None:
    batch = [UserEntry(f"user{i}@example.com", None, hash_password(f"pw-{i}", 10))
             for i in range(25)]
    applied = _restarts(emulator)

    DexUsers(cluster, FAST_WAITS).add(batch, replace=True)

    assert _restarts(emulator) - applied == 1
    assert len(_config(cluster)["staticPasswords"]) == 26
    secret = _secret(cluster)
    assert all(secret_value(secret, user_hash_env(u.email)) == u.password_hash for u in batch)


def test_concurrent_live_adds_all_survive(kubeconfig: Path, emulator: RunningEmulator,
                                          plain_dex: None) -> None:
    hashed = hash_password("shared-test-password", 10)
    errors: list[BaseException] = []

    def admin(number: int) -> None:
        try:
            with Cluster.connect(kubeconfig, retry=NO_BACKOFF) as own:
                users = DexUsers(own, FAST_WAITS)
                for i in range(3):
                    users.add([UserEntry(f"admin{number}-{i}@example.com", None, hashed)])
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=admin, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with Cluster.connect(kubeconfig, retry=NO_BACKOFF) as cluster:
        emails = {e["email"] for e in _config(cluster)["staticPasswords"]}
        secret = _secret(cluster)
    wanted = {f"admin{n}-{i}@example.com" for n in range(4) for i in range(3)}
    assert emails >= wanted
    assert all(secret_value(secret, user_hash_env(e)) == hashed for e in wanted)
    # The admins did get in each other's way, and the conflicts were resolved.
    assert any(r.status == 409 for r in emulator.writes())


def test_dex_without_the_passwords_secret_gets_it_and_reads_it(
        cluster: Cluster, emulator: RunningEmulator, plain_dex: None) -> None:
    cluster.delete("v1", "Secret", "dex-passwords", "auth")
    deployment = cluster.get("apps/v1", "Deployment", "dex", "auth")
    assert deployment is not None
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    cluster.merge_patch("apps/v1", "Deployment", "dex", {"spec": {"template": {"spec": {
        "containers": [{**container, "envFrom": [
            s for s in container["envFrom"] if s["secretRef"]["name"] != "dex-passwords"]}]}}}},
        "auth")

    DexUsers(cluster, FAST_WAITS).add([UserEntry("ann@example.com", None,
                                                  hash_password("pw-ann", 10))])

    live = cluster.get("apps/v1", "Deployment", "dex", "auth")
    assert live is not None
    sources = live["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert {"secretRef": {"name": "dex-passwords"}} in sources
    assert secret_value(_secret(cluster), user_hash_env("ann@example.com"))


def test_without_dex_the_command_says_so(cluster: Cluster) -> None:
    with pytest.raises(OperationError, match="no Dex here: ConfigMap auth/dex not found"):
        DexUsers(cluster, FAST_WAITS).users()


ALICE = """\
  auth:
    users:
    - email: alice@example.com
      passwordHash: "{hash}"
"""


def test_the_file_users_as_listed_never_with_their_hashes(platform_file: PlatformWriter) -> None:
    hashed = hash_password("correct horse battery", 10)
    path = platform_file(spec_extra=ALICE.format(hash=hashed)
                         + f"    - {{email: bob@example.com, username: robert, "
                           f"passwordHash: \"{hashed}\"}}\n")
    users = file_users(load_platform(path).platform)
    assert users == [DexUser("alice@example.com", "alice", "platform-file"),
                     DexUser("bob@example.com", "robert", "platform-file")]
    assert hashed not in repr(users)


def test_apply_syncs_file_users_and_keeps_live_ones(
        platform_file: PlatformWriter, cluster: Cluster, emulator: RunningEmulator) -> None:
    alice = hash_password("alice-pass", 10)
    path = platform_file(spec_extra=ALICE.format(hash=alice))
    options = ApplyOptions(waits=FAST_WAITS)
    apply_platform(load_platform(path), cluster, options,
                   render_options=RenderOptions(offline=True))
    users = DexUsers(cluster, FAST_WAITS)
    users.add([UserEntry("carol@example.com", "carol", hash_password("carol-pass", 10))])
    with pytest.raises(InputError, match="comes from the platform file"):
        users.remove("alice@example.com")

    # Nothing changed in the file: the live user stays and nothing is written.
    before = len(emulator.writes())
    apply_platform(load_platform(path), cluster, options,
                   render_options=RenderOptions(offline=True))
    assert emulator.writes()[before:] == []
    # Alice leaves the file: the next apply removes her, and only her.
    platform_file(spec_extra="")
    apply_platform(load_platform(path), cluster, options,
                   render_options=RenderOptions(offline=True))

    assert [(u.email, u.source) for u in users.users()] == [
        ("user@example.com", "release-default"), ("carol@example.com", "live")]
    # The release's default user is written by every apply: a live change would be undone.
    with pytest.raises(InputError, match="Kubeflow's default user, which kfops apply writes"):
        users.set_password("user@example.com", hash_password("a-password-of-mine", 10))
    secret = _secret(cluster)
    stored = secret_value(secret, user_hash_env("carol@example.com"))
    assert stored is not None and verify_password("carol-pass", stored)
    assert secret_value(secret, user_hash_env("alice@example.com")) is None


def test_only_a_missing_dex_means_no_live_users(cluster: Cluster, emulator: RunningEmulator,
                                                platform_file: PlatformWriter) -> None:
    path = platform_file()
    options = ApplyOptions(waits=FAST_WAITS)
    apply_platform(load_platform(path), cluster, options,
                   render_options=RenderOptions(offline=True))
    DexUsers(cluster, FAST_WAITS).add([UserEntry("dan@example.com", None,
                                                 hash_password("dan-password-1", 10))])
    before = len(emulator.writes())

    emulator.state.deny("get", "configmaps", "auth")
    with pytest.raises(Forbidden, match="ConfigMap auth/dex"):
        apply_platform(load_platform(path), cluster, options,
                       render_options=RenderOptions(offline=True))
    assert emulator.writes()[before:] == []
    emulator.state.denied.clear()

    with Cluster.connect(emulator.write_kubeconfig(path.parent / "one-try"),
                         retry=RetryPolicy(attempts=1)) as impatient:
        emulator.faults.writes_only = False
        emulator.faults.queued.append(Fault("500"))
        with pytest.raises(Unavailable):
            DexUsers(impatient, FAST_WAITS).live_entries()
        emulator.faults.writes_only = True
    assert [u.email for u in DexUsers(cluster, FAST_WAITS).live_entries()] == ["dan@example.com"]


BROKEN = {
    "config not YAML": (("ConfigMap", "dex"), {"data": {"config.yaml": "issuer: [unclosed\n"}},
                        "ConfigMap auth/dex: cannot read Dex's users from it"),
    "config a list": (("ConfigMap", "dex"), {"data": {"config.yaml": "- a list\n"}},
                      "config.yaml is not a Dex configuration"),
    "hash not base64": (("Secret", "dex-passwords"),
                        {"data": {"DEX_USER_PASSWORD": "not base64!"}},
                        "Secret auth/dex-passwords: data.DEX_USER_PASSWORD is not base64"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_hand_broken_dex_stops_the_apply_naming_it(
        platform_file: PlatformWriter, kubeconfig: Path, cluster: Cluster, *,
        emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], case: str) -> None:
    (kind, name), broken, problem = BROKEN[case]
    where = ["-f", str(platform_file()), "--kubeconfig", str(kubeconfig), "--offline"]
    assert main(["apply", *where, "-o", "json"]) == 0
    cluster.merge_patch("v1", kind, name, broken, "auth")
    before = len(emulator.writes())
    capsys.readouterr()

    code = main(["apply", *where])

    err = capsys.readouterr().err
    assert (code, "Traceback" in err) == (1, False), err
    assert problem in " ".join(err.split())
    assert emulator.writes()[before:] == []


class _AddLiveAfter:
    """Progress of an apply that adds a user with `--live` after its n-th object, as a second
    administrator's `kfops user add --live` would land in the middle of the apply (or, with
    `passwd`, changes that user's password)."""

    def __init__(self, cluster: Cluster, after: int, user: UserEntry,
                 passwd: bool = False) -> None:
        self.cluster, self.after, self.user, self.passwd = cluster, after, user, passwd
        self.order: list[str] = []

    def step(self, label: str, total: int) -> None:
        pass

    def object_done(self, what: str, outcome: str) -> None:
        self.order.append(what)
        if len(self.order) == self.after:
            users = DexUsers(self.cluster, FAST_WAITS)
            if self.passwd:
                users.set_password(self.user.email, self.user.password_hash)
            else:
                users.add([self.user])

    def waiting(self, what: str, reasons: list[str]) -> None:
        pass


def test_seven_applies_racing_a_live_add_lose_no_user(
        platform_file: PlatformWriter, cluster: Cluster) -> None:
    hashed = hash_password("a-password", 10)
    path = platform_file(spec_extra=ALICE.format(hash=hashed))
    options = ApplyOptions(waits=FAST_WAITS)
    first = _AddLiveAfter(cluster, 0, UserEntry("nobody@example.com", None, hashed))
    apply_platform(load_platform(path), cluster, options,
                   render_options=RenderOptions(offline=True), progress=first)
    dex = sorted(first.order.index(what) + 1 for what in ("Secret auth/dex-passwords",
                                                          "ConfigMap auth/dex"))
    total = len(first.order)
    # After the n-th object: long before Dex's objects, right before each, on each, right
    # after each (between them), at the very end.
    moments = sorted({1, dex[0] - 1, dex[0], dex[0] + 1, dex[1], dex[1] + 1, total})
    assert len(moments) == 7
    lost = []
    for trial, after in enumerate(moments):
        # Each apply changes Dex's config too (one more user in the file).
        file_users = "".join(f"    - email: file{n}@example.com\n      passwordHash: "
                             f'"{hashed}"\n' for n in range(trial + 1))
        platform_file(spec_extra=ALICE.format(hash=hashed) + file_users)
        live = UserEntry(f"live{trial}@example.com", None, hashed)
        apply_platform(load_platform(path), cluster, options,
                       render_options=RenderOptions(offline=True),
                       progress=_AddLiveAfter(cluster, after, live))
        users = {u.email: u.source for u in DexUsers(cluster, FAST_WAITS).users()}
        secret = _secret(cluster)
        lost += [f"live{n}@example.com (added after object {moments[n]})"
                 for n in range(trial + 1)
                 if users.get(f"live{n}@example.com") != "live"
                 or secret_value(secret, user_hash_env(f"live{n}@example.com")) != hashed]
        assert users.get(f"file{trial}@example.com") == "platform-file"
    assert lost == []

    # A password changed live right before the apply writes Dex's Secret is kept too.
    platform_file(spec_extra=ALICE.format(hash=hashed))
    changed = hash_password("another-password", 10)
    apply_platform(load_platform(path), cluster, options,
                   render_options=RenderOptions(offline=True),
                   progress=_AddLiveAfter(cluster, dex[0] - 1,
                                          UserEntry("live0@example.com", None, changed),
                                          passwd=True))
    assert secret_value(_secret(cluster), user_hash_env("live0@example.com")) == changed
