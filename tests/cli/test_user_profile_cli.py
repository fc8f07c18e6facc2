"""`kfops user ...` and `kfops profile ...` as an administrator runs them."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import signal
import sys
from pathlib import Path

import pytest
import yaml

from kfops.cli import main
from kfops.cluster import Cluster
from kfops.identity import verify_password
from kfops.objects import secret_value
from kfops.render._kustomize import find_kustomize
from tests.conftest import MANIFESTS, NO_BACKOFF, PlatformWriter
from tests.emulator import RunningEmulator

SECRET = "Tr0ub4dor&3-never-shown"


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str,
        stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_user_commands_edit_the_file_and_never_show_the_password(
        platform_file: PlatformWriter, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(platform_file())

    code, out, err = run(capsys, monkeypatch, "user", "add", "bob@example.com", "--username",
                         "bob", "--password-stdin", "--cost", "10", "-f", path,
                         stdin=SECRET + "\n")

    assert (code, err) == (0, "")
    assert f"added bob@example.com in {path}" in out
    text = Path(path).read_text()
    assert SECRET not in text + out + err
    [user] = yaml.safe_load(text)["spec"]["auth"]["users"]
    assert verify_password(SECRET, user["passwordHash"])

    code, out, _ = run(capsys, monkeypatch, "user", "list", "-f", path, "-o", "json")
    assert (code, json.loads(out)) == (0, [{"email": "bob@example.com", "username": "bob",
                                            "source": "platform-file"}])
    assert "$2b$" not in out

    code, _, err = run(capsys, monkeypatch, "user", "add", "bob@example.com",
                       "--password-stdin", "-f", path, stdin=SECRET + "\n")
    assert code == 2 and "already in spec.auth.users" in err
    code, _, err = run(capsys, monkeypatch, "user", "add", "eve@example.com", "--apply",
                       "--live", "--password-stdin", stdin=SECRET + "\n")
    assert code == 2 and "choose one" in err
    code, _, err = run(capsys, monkeypatch, "user", "add", "eve@example.com",
                       "--password-stdin", "--cost", "8", stdin=SECRET + "\n")
    assert code == 2 and "bcrypt cost 8" in err
    before = Path(path).read_text()
    for weak, problem in (("12341234", "Kubeflow's published default password"),
                          ("eve@example.com", "the user's own e-mail"),
                          ("short-one", "has 9 characters; use at least 12"),
                          ("              ", "empty or only whitespace")):
        code, out, err = run(capsys, monkeypatch, "user", "add", "eve@example.com",
                             "--password-stdin", "-f", path, stdin=weak + "\n")
        assert (code, problem in err, "Traceback" in err) == (2, True, False), err
    assert Path(path).read_text() == before

    csv_file = Path(path).parent / "team.csv"
    csv_file.write_text("email,username,password\nann@example.com,ann,first-secret\n"
                        "cy@example.com,,second-secret\n")
    code, out, _ = run(capsys, monkeypatch, "user", "import", str(csv_file), "--cost", "10",
                       "-f", path)
    assert code == 0 and "imported 2 users" in out
    code, _, _ = run(capsys, monkeypatch, "user", "remove", "bob@example.com", "-f", path)
    emails = [u["email"] for u in yaml.safe_load(Path(path).read_text())["spec"]["auth"]["users"]]
    assert (code, emails) == (0, ["ann@example.com", "cy@example.com"])


def test_profile_commands_edit_the_file(platform_file: PlatformWriter,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(platform_file())

    code, _, err = run(capsys, monkeypatch, "profile", "create", "team-a", "--owner",
                       "alice@example.com", "--quota", "cpu=16,memory=64Gi,nvidia.com/gpu=2",
                       "--pod-defaults", "pipelineAccess,gpuToleration", "-f", path)
    assert (code, err) == (0, "")
    code, _, _ = run(capsys, monkeypatch, "profile", "contributor", "add", "team-a",
                     "bob@example.com", "--role", "view", "-f", path)
    assert code == 0
    code, out, _ = run(capsys, monkeypatch, "profile", "list", "-f", path, "-o", "json")
    assert json.loads(out) == [{"name": "team-a", "owner": "alice@example.com",
                                "source": "platform-file",
                                "contributors": {"bob@example.com": "view"},
                                "quota": {"cpu": "16", "memory": "64Gi",
                                          "nvidia.com/gpu": "2"}}]

    code, _, err = run(capsys, monkeypatch, "profile", "create", "team-b", "--owner",
                       "b@example.com", "--quota", "cpu", "-f", path)
    assert code == 2 and "--quota: expected NAME=QUANTITY" in err
    code, _, err = run(capsys, monkeypatch, "profile", "create", "Team_B", "--owner",
                       "b@example.com", "-f", path)
    assert code == 2 and "name" in err
    code, _, err = run(capsys, monkeypatch, "profile", "create", "kube-team", "--owner",
                       "b@example.com", "-f", path)
    assert code == 2 and "profiles may not be named default or kube-*" in err

    # Deleting asks first, and says what goes with the profile.
    before = Path(path).read_text()
    code, out, err = run(capsys, monkeypatch, "profile", "delete", "team-a", "-f", path,
                         stdin="n\n")
    assert code == 1 and "Aborted" in err and Path(path).read_text() == before
    assert "deletes the Profile and its namespace team-a with everything in it" in out
    code, out, _ = run(capsys, monkeypatch, "profile", "delete", "team-a", "-f", path,
                       stdin="y\n")
    assert code == 0 and "removed profile team-a" in out and "team-a" not in Path(
        path).read_text()
    run(capsys, monkeypatch, "profile", "create", "team-a", "--owner", "alice@example.com",
        "-f", path)
    code, out, _ = run(capsys, monkeypatch, "profile", "delete", "team-a", "--yes", "-f", path)
    assert code == 0 and "removed profile team-a" in out
    run(capsys, monkeypatch, "profile", "create", "team-a", "--owner", "alice@example.com",
        "-f", path)
    code, _, err = run(capsys, monkeypatch, "profile", "contributor", "add", "team-a",
                       "bob@example.com", "--role", "admin", "-f", path)
    assert code == 2 and "use edit or view" in err


def test_live_and_apply_modes_against_a_cluster(
        platform_file: PlatformWriter, kubeconfig: Path, emulator: RunningEmulator,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(platform_file())
    where = ("--kubeconfig", str(kubeconfig))

    code, out, _ = run(capsys, monkeypatch, "profile", "create", "team-a", "--owner",
                       "alice@example.com", "--pod-defaults", "pipelineAccess", "-f", path,
                       "--apply", "--offline", *where)
    assert code == 0 and "applied" in out
    with Cluster.connect(kubeconfig, retry=NO_BACKOFF) as cluster:
        assert cluster.get("kubeflow.org/v1alpha1", "PodDefault", "access-ml-pipeline",
                           "team-a") is not None
        cluster.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": "notebook-data", "namespace": "team-a"},
                       "spec": {"accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": "1Gi"}}}})

    code, _, err = run(capsys, monkeypatch, "profile", "delete", "team-a", "-f", path,
                       "--apply", "--offline", *where)
    assert code == 1 and "holds PersistentVolumeClaims (notebook-data)" in err
    assert "team-a" in Path(path).read_text()  # refused before editing anything
    code, _, _ = run(capsys, monkeypatch, "profile", "create", "lab", "--owner",
                     "alice@example.com", "--live", *where)
    assert code == 0
    code, out, err = run(capsys, monkeypatch, "profile", "delete", "lab", "--live", *where,
                         stdin="n\n")
    assert (code, "Aborted" in err) == (1, True)
    assert "Delete profile lab: the Profile and its namespace lab with everything in it " \
           "(0 pod(s))?" in out
    code, out, _ = run(capsys, monkeypatch, "profile", "delete", "lab", "--live", "--yes",
                       *where)
    assert (code, out.strip()) == (0, "deleted profile lab")

    code, out, _ = run(capsys, monkeypatch, "user", "add", "dan@example.com", "--live",
                       "--password-stdin", "--cost", "10", *where, stdin=SECRET + "\n")
    assert (code, "Dex restarted" in out) == (0, True)
    code, out, _ = run(capsys, monkeypatch, "user", "list", "--live", "-o", "json", *where)
    assert {u["email"]: u["source"] for u in json.loads(out)} == {
        "user@example.com": "release-default", "dan@example.com": "live"}
    code, out, _ = run(capsys, monkeypatch, "profile", "list", "--live", *where)
    assert code == 0 and "team-a" in out and "platform-file" in out


def test_plain_manifests_dex_takes_live_users(kubeconfig: Path, cluster: Cluster,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    build = find_kustomize().build(MANIFESTS / "26.03/common/dex/overlays/oauth2-proxy")
    objects = [o for o in yaml.safe_load_all(build) if o and o["kind"] != "VirtualService"]
    for obj in sorted(objects, key=lambda o: o["kind"] != "Namespace"):
        cluster.apply(obj)

    code, _, _ = run(capsys, monkeypatch, "user", "passwd", "user@example.com", "--live",
                     "--password-stdin", "--cost", "10", "--kubeconfig", str(kubeconfig),
                     stdin="a-new-default-password\n")

    assert code == 0
    secret = cluster.get("v1", "Secret", "dex-passwords", "auth")
    assert secret is not None
    stored = secret_value(secret, "DEX_USER_PASSWORD")
    assert stored is not None and verify_password("a-new-default-password", stored)


def test_seed_a_fresh_generic_file_then_apply(tmp_path: Path, kubeconfig: Path,
                                              emulator: RunningEmulator,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "platform.yaml"
    assert run(capsys, monkeypatch, "init", "--target", "generic", "-f", str(path))[0] == 0

    # The starter's placeholder user is replaced; the host is still to fill: said, not refused.
    code, out, err = run(capsys, monkeypatch, "user", "add", "admin@example.com",
                         "--password-stdin", "--cost", "10", "-f", str(path),
                         stdin=SECRET + "\n")
    assert code == 0, err
    assert "added admin@example.com" in out
    assert "not ready to apply yet" in err and "spec.ingress.host" in err
    assert "the first user's e-mail" not in path.read_text()

    text = path.read_text().replace(
        '"<fill in: the DNS name users open, e.g. kubeflow.example.com>"', "kubeflow.example.com")
    path.write_text(text.replace('  release:\n    version: "26.03"\n',
                                 f'  release:\n    version: "26.03"\n'
                                 f"    source: {MANIFESTS / '26.03'}\n"
                                 f"    remoteCache: {MANIFESTS.parent / 'remote-cache'}\n"))
    where = ("-f", str(path), "--kubeconfig", str(kubeconfig), "--offline")
    code, out, err = run(capsys, monkeypatch, "user", "add", "bea@example.com",
                         "--password-stdin", "--cost", "10", "--apply", *where,
                         stdin=SECRET + "\n")
    assert code == 0, err
    assert "applied" in out and "not ready" not in err
    code, _, err = run(capsys, monkeypatch, "profile", "create", "team-a", "--owner",
                       "bea@example.com", "--apply", *where)
    assert code == 0, err
    assert run(capsys, monkeypatch, "plan", *where)[0] == 0
    dex = yaml.safe_load(emulator.state.objects[("", "configmaps", "auth", "dex")].obj[
        "data"]["config.yaml"])
    assert [u["email"] for u in dex["staticPasswords"]] == ["admin@example.com",
                                                            "bea@example.com"]


def test_ctrl_c_at_the_password_prompt_is_an_interrupt(platform_file: PlatformWriter) -> None:
    path = platform_file()
    before = path.read_text()
    pid, terminal = pty.fork()
    if pid == 0:  # the child: kfops on a terminal, as an administrator runs it
        # A shell starts background jobs with SIGINT ignored, which exec keeps and Python
        # then leaves alone; an administrator's terminal delivers it.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execv(sys.executable, [sys.executable, "-m", "kfops", "user", "add",
                                  "ann@example.com", "-f", str(path)])
    seen = b""
    while b"Password for ann@example.com" not in seen:
        ready, _, _ = select.select([terminal], [], [], 30)
        assert ready, seen
        seen += os.read(terminal, 1024)
    os.write(terminal, b"\x03")  # Ctrl-C, through the terminal's line discipline

    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 130
    assert path.read_text() == before
