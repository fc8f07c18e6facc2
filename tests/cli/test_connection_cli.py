"""A cluster that is not there, or a context that is not: the command stops before it renders
or prints anything, naming the server and the context (exit 1), or the contexts (exit 2)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from kfops.cli import main
from tests.conftest import PlatformWriter
from tests.emulator import RunningEmulator
from tests.helpers.oci import free_port

PASSWORD = "correct-horse-battery-staple"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def nowhere(tmp_path: Path) -> tuple[Path, str]:
    """A kubeconfig whose current context `lab` points at a closed port; its server URL."""
    server = f"http://127.0.0.1:{free_port()}"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": server}}],
        "users": [{"name": "lab", "user": {"token": "t"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}]}))
    return path, server


@pytest.mark.parametrize("command", [("apply", "--offline"), ("plan", "--offline"),
                                     ("status", "--offline"), ("check",), ("uninstall",)])
def test_unreachable_cluster_stops_before_render_naming_server_and_context(
        command: tuple[str, ...], platform_file: PlatformWriter, nowhere: tuple[Path, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig, server = nowhere
    path = platform_file()

    # (uninstall asks for confirmation only once the cluster has answered)
    code, out, err = run(capsys, *command, "-f", str(path), "--kubeconfig", str(kubeconfig))

    assert code == 1 and out == ""
    assert err.startswith("error")
    assert f"cannot reach the API server {server} (context lab" in err
    assert "connection refused" in err and "Traceback" not in err
    # Nothing was rendered: the render makes the state directory for generated secrets.
    assert not (path.parent / ".kfops").exists()


def test_bad_context_is_bad_input_naming_the_contexts(
        platform_file: PlatformWriter, kubeconfig: Path, emulator: RunningEmulator,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "apply", "-f", str(platform_file()), "--kubeconfig",
                         str(kubeconfig), "--context", "prod", "--offline")

    assert (code, out) == (2, "")
    assert "--context prod" in err and "it has: emulator" in err and "Traceback" not in err
    assert emulator.state.requests == []


def test_missing_kubeconfig_is_bad_input(platform_file: PlatformWriter, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status", "-f", str(platform_file()), "--offline",
                       "--kubeconfig", str(tmp_path / "missing"))
    assert code == 2
    assert f"--kubeconfig {tmp_path / 'missing'}: no such file" in err
    assert "Traceback" not in err


def test_user_add_apply_on_unreachable_cluster_says_the_file_changed(
        platform_file: PlatformWriter, nowhere: tuple[Path, str],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig, server = nowhere
    path = platform_file()
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))

    code, out, err = run(capsys, "user", "add", "ann@example.com", "--password-stdin",
                         "--cost", "10", "-f", str(path), "--apply", "--kubeconfig",
                         str(kubeconfig))

    assert code == 1
    assert "ann@example.com" in path.read_text()
    assert f"added ann@example.com in {path}" in out
    assert f"cannot reach the API server {server}" in err
    assert f"{path} was changed (added ann@example.com); the cluster was not" in err
    assert f"kfops apply -f {path} --kubeconfig {kubeconfig}` finishes the job" in err
