"""The test control plane itself: built once from the Go module proxy, started on loopback
only, stopped exactly, and clear about what went wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.controlplane import BuildError, ControlPlane, StartError, _netns, build
from tests.controlplane._run import ROOT
from tests.controlplane._versions import Binaries
from tests.controlplane._webhookless import DROPPED, group_kind, without_webhooks
from tests.helpers.presets import render_preset


def test_a_second_build_builds_nothing(binaries: Binaries) -> None:
    again = build()
    assert again.built is False
    assert again.binaries == binaries and binaries.complete()


def test_a_module_the_proxy_does_not_give_is_named_and_nothing_half_built_is_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFOPS_CONTROLPLANE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "modules"))  # nothing downloaded yet
    monkeypatch.setenv("GOPROXY", "off")
    monkeypatch.setenv("GOFLAGS", "-modcacherw")
    with pytest.raises(BuildError) as raised:
        build()
    message = str(raised.value)
    assert "module lookup disabled by GOPROXY=off" in message
    assert "@v" in message  # which module, which version
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".build.lock"]


def test_a_missing_go_toolchain_is_named(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BuildError, match=r"the Go toolchain \(`go`\) is not on PATH"):
        build()


def test_it_runs_in_a_loopback_only_network_namespace(control_plane: ControlPlane) -> None:
    if not _netns.available():
        pytest.skip("this machine does not allow network namespaces")
    assert control_plane.netns is not None
    namespace = Path(f"/run/netns/{control_plane.netns}").stat().st_ino
    # every process, the forwarder too: only its listening socket was made on the host
    for started in control_plane.processes:
        assert Path(f"/proc/{started.pid}/ns/net").stat().st_ino == namespace, started.name
    links = _ip(control_plane.netns, "-o", "link", "show")
    assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
    assert _ip(control_plane.netns, "route", "show").strip() == ""
    listening = _ip(control_plane.netns, "-tln", tool="ss")
    addresses = [line.split()[3] for line in listening.splitlines()[1:]]
    assert addresses and all(a.startswith("127.0.0.1:") for a in addresses), addresses


def _ip(netns: str, *args: str, tool: str = "ip") -> str:
    done = subprocess.run(["ip", "netns", "exec", netns, tool, *args], capture_output=True,
                          text=True, check=True)
    return done.stdout


def _broken(binaries: Binaries, folder: Path, apiserver: str) -> Binaries:
    """The built binaries, but kube-apiserver replaced by a script."""
    folder.mkdir()
    for path in binaries.all():
        (folder / path.name).symlink_to(path)
    fake = folder / "kube-apiserver"
    fake.unlink()
    fake.write_text(f"#!/bin/sh\n{apiserver}\n")
    fake.chmod(0o755)
    return Binaries(folder)


def _leftovers(folder: Path) -> list[str]:
    """Processes still running one of folder's binaries."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                command = (proc / "cmdline").read_bytes().split(b"\0")[0].decode()
            except OSError:
                continue
            if command.startswith(str(folder)) or str(folder) in command:
                found.append(command)
    return found


def test_a_component_that_exits_is_named_with_its_log_tail(binaries: Binaries,
                                                           tmp_path: Path) -> None:
    broken = _broken(binaries, tmp_path / "bin", "echo 'flag provided but not defined: --x'"
                                                 " >&2; exit 1")
    before = set(_netns_names())
    with pytest.raises(StartError) as raised:
        ControlPlane.start(broken, tmp_path / "run", timeout=30)
    assert "kube-apiserver exited" in str(raised.value)
    assert "flag provided but not defined" in str(raised.value)
    assert _leftovers(tmp_path / "run") == []
    assert set(_netns_names()) == before


def test_a_control_plane_not_ready_in_time_is_torn_down(binaries: Binaries,
                                                        tmp_path: Path) -> None:
    broken = _broken(binaries, tmp_path / "bin", "echo starting; exec sleep 600")
    with pytest.raises(StartError, match="kube-apiserver was not ready in time") as raised:
        ControlPlane.start(broken, tmp_path / "run", timeout=3)
    assert "starting" in str(raised.value)
    assert _leftovers(tmp_path / "run") == [] and _leftovers(tmp_path / "bin") == []


def _netns_names() -> list[str]:
    folder = Path("/run/netns")
    return [p.name for p in folder.iterdir()] if folder.is_dir() else []


def test_up_and_down_from_a_shell_stop_exactly_what_up_started(binaries: Binaries,
                                                               tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "300"])
    # the tests' HOME is a scratch folder: point the script at the built binaries
    env = {**os.environ, "KFOPS_CONTROLPLANE_CACHE": str(binaries.folder.parent)}
    try:
        up = subprocess.run([str(ROOT / "scripts/control-plane"), "up", str(tmp_path / "cp")],
                            capture_output=True, text=True, check=False, timeout=180, env=env)
        assert up.returncode == 0, up.stderr
        kubeconfig = Path(up.stdout.strip())
        assert kubeconfig.is_file()
        state = json.loads((tmp_path / "cp" / "state.json").read_text())
        pids = [p["pid"] for p in state["processes"]]
        assert {p["name"] for p in state["processes"]} == {
            "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
            *(["forward"] if state["netns"] else [])}
        nodes = subprocess.run([sys.executable.replace("python", "kubectl"), "--kubeconfig",
                                str(kubeconfig), "get", "nodes", "-o", "name"],
                               capture_output=True, text=True, check=True).stdout.split()
        assert sorted(nodes) == ["node/kwok-gpu-1", "node/kwok-node-1", "node/kwok-node-2"]
        down = subprocess.run([str(ROOT / "scripts/control-plane"), "down",
                               str(tmp_path / "cp")], capture_output=True, text=True,
                              check=False, timeout=120, env=env)
        assert down.returncode == 0, down.stderr
        assert all(not _running(pid) for pid in pids)
        assert bystander.poll() is None
        assert state["netns"] not in _netns_names()
    finally:
        bystander.kill()
        bystander.wait()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.render
def test_the_webhookless_transformation_drops_only_what_would_call_out(
        tmp_path: Path) -> None:
    objects = [item.obj for item in render_preset(tmp_path, "local", "26.03").bundle.objects]
    kept = without_webhooks(objects)
    dropped = [o for o in objects if group_kind(o) in DROPPED]
    assert len(dropped) >= 20 and len(kept) == len(objects) - len(dropped)
    converted = [o for o in kept if o["kind"] == "CustomResourceDefinition"
                 and o not in objects]
    assert converted and all(o["spec"]["conversion"] == {"strategy": "None"} for o in converted)
    others = [o for o in kept if o not in converted]
    assert all(o in objects for o in others)
    assert not any((o["spec"].get("conversion") or {}).get("strategy") == "Webhook"
                   for o in kept if o["kind"] == "CustomResourceDefinition")
