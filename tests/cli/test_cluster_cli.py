"""`kfops apply | plan | status | uninstall` as a user runs them, against the emulator."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kfops.cli import main
from kfops.cluster import Cluster
from tests.conftest import LocalInstall, PlatformWriter
from tests.emulator import RunningEmulator


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_apply_plan_status_uninstall(platform_file: PlatformWriter, kubeconfig: Path,
                                     emulator: RunningEmulator,
                                     capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(platform_file())
    where = ("-f", path, "--kubeconfig", str(kubeconfig), "--offline")

    code, out, _ = run(capsys, "plan", *where, "-o", "json")
    assert code == 3
    assert json.loads(out)["changes"] == 672

    code, out, err = run(capsys, "apply", *where, "-o", "json")
    assert (code, err) == (0, "")
    summary = json.loads(out)
    assert set(summary) == {"created", "updated", "unchanged", "pruned", "kept", "adopted",
                            "notRotated", "alsoDeleted", "ignored", "takenOver", "replaced",
                            "warnings", "upgrade"}
    assert len(summary["created"]) == 672

    code, out, _ = run(capsys, "apply", *where)
    assert code == 0
    assert "applied 0 created, 0 updated, 672 unchanged, 0 pruned" in out

    assert run(capsys, "plan", *where)[0] == 0
    code, out, _ = run(capsys, "status", *where, "-o", "json")
    assert code == 0
    assert {row["state"] for row in json.loads(out)} == {"ready"}

    # A pod that cannot pull its image: status fails, naming it.
    with Cluster.connect(kubeconfig) as cluster:
        cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "ml-pipeline-ui-1", "namespace": "kubeflow", "labels": {
                "app": "ml-pipeline-ui", "app.kubernetes.io/component": "ml-pipeline",
                "app.kubernetes.io/name": "kubeflow-pipelines",
                "application-crd-id": "kubeflow-pipelines"}},
            "spec": {"containers": [{"name": "ml-pipeline-ui", "image": "missing"}]}})
    with emulator.lock:
        emulator.state.report_status(("", "pods", "kubeflow", "ml-pipeline-ui-1"), {
            "phase": "Pending", "containerStatuses": [{"name": "ml-pipeline-ui", "state": {
                "waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}]})
    code, out, _ = run(capsys, "status", *where)
    assert code == 1
    assert "pipelines" in out and "failed" in out
    assert "pod ml-pipeline-ui-1: ImagePullBackOff (no such image)" in out


    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, err = run(capsys, "uninstall", *where[:4])
    assert "Aborted" in err
    assert code == 1  # declined: nothing was deleted
    assert emulator.state.objects.get(("apps", "deployments", "kubeflow", "ml-pipeline"))

    code, out, _ = run(capsys, "uninstall", "-f", path, "--kubeconfig", str(kubeconfig),
                       "--yes", "-o", "json")
    assert code == 0
    result = json.loads(out)
    assert "Deployment kubeflow/ml-pipeline" in result["deleted"]
    assert any(k.startswith("PersistentVolumeClaim kubeflow/katib-mysql:") for k in result["kept"])
    assert result["stuck"] == []


def test_plan_exits_3_and_shows_fields_of_drift(platform_file: PlatformWriter, kubeconfig: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                local_install: LocalInstall) -> None:
    path = str(platform_file())  # installed already: the cluster is a copy of local_install
    where = ("-f", path, "--kubeconfig", str(kubeconfig), "--offline")
    code, _, _ = run(capsys, "plan", *where)
    assert code == 0
    with Cluster.connect(kubeconfig) as cluster:
        cluster.merge_patch("apps/v1", "Deployment", "cache-server", {"spec": {"replicas": 2}},
                            "kubeflow")
        dex = cluster.get("apps/v1", "Deployment", "dex", "auth")
        assert dex is not None
        containers = dex["spec"]["template"]["spec"]["containers"]
        image = containers[0]["image"]
        containers[0]["image"] = "registry.example/dex:patched"
        cluster.merge_patch("apps/v1", "Deployment", "dex",
                            {"spec": {"template": {"spec": {"containers": containers}}}}, "auth")
        config = cluster.get("v1", "ConfigMap", "dex", "auth")
        assert config is not None
        text = config["data"]["config.yaml"]
        cluster.merge_patch("v1", "ConfigMap", "dex", {"data": {"config.yaml": text.replace(
            "enablePasswordDB: true", "enablePasswordDB: false")}}, "auth")
        cluster.merge_patch("v1", "Secret", "mysql-secret",
                            {"data": {"username": "aGFuZC1lZGl0ZWQ="}}, "kubeflow")

    code, out, _ = run(capsys, "plan", *where, "-v")

    assert code == 3
    assert "update   Deployment kubeflow/cache-server" in out
    assert "spec.replicas: 2 -> 1" in out
    assert (f'spec.template.spec.containers[name={containers[0]["name"]}].image: '
            f'"registry.example/dex:patched" -> "{image}"') in out
    # A multi-line string as a diff of its lines, each shown whole.
    lines = out.splitlines()
    at = lines.index("           data.config.yaml:")
    assert "             -enablePasswordDB: false" in lines[at:at + 8]
    assert "             +enablePasswordDB: true" in lines[at:at + 8]
    assert "data.username: changed" in out and "aGFuZC1lZGl0ZWQ" not in out
    assert "hand-edited" not in out and "..." not in out
    assert "0 create, 4 update, 0 prune, 0 keep, 668 unchanged" in out


def test_bad_platform_file_touches_nothing(tmp_path: Path, kubeconfig: Path,
                                           emulator: RunningEmulator,
                                           capsys: pytest.CaptureFixture[str],
                                           platform_file: PlatformWriter) -> None:
    path = platform_file(spec_extra="  components:\n    katib: maybe\n")

    code, out, err = run(capsys, "apply", "-f", str(path), "--kubeconfig", str(kubeconfig))
    assert out == ""

    assert code == 2
    assert "spec.components.katib" in err and "Traceback" not in err
    assert emulator.state.requests == []


@pytest.mark.usefixtures("local_install")
def test_status_and_uninstall_without_a_platform_file(platform_file: PlatformWriter,
                                                      kubeconfig: Path,
                                                      emulator: RunningEmulator,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(platform_file())  # installed already: the cluster is a copy of local_install
    code, out, _ = run(capsys, "status", "-f", path, "--kubeconfig", str(kubeconfig),
                       "--offline", "-o", "json")
    with_file = json.loads(out)
    elsewhere = kubeconfig.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no platform.yaml here: the cluster's own record is used

    code, out, _ = run(capsys, "status", "--kubeconfig", str(kubeconfig), "-o", "json")

    assert code == 0
    assert json.loads(out) == with_file
    code, out, _ = run(capsys, "status", "--name", "lab", "--kubeconfig", str(kubeconfig))
    assert code == 0 and "pipelines" in out

    # Naming the install twice is bad input: exit 2, nothing sent.
    before = len(emulator.state.requests)
    code, _, err = run(capsys, "uninstall", "-f", path, "--name", "lab", "--kubeconfig",
                       str(kubeconfig), "--yes")
    assert code == 2 and "-f and --name name the install twice" in err
    assert len(emulator.state.requests) == before

    code, out, _ = run(capsys, "uninstall", "--kubeconfig", str(kubeconfig), "--yes",
                       "-o", "json")

    assert code == 0
    assert "Deployment kubeflow/ml-pipeline" in json.loads(out)["deleted"]
    # The parent now records only the kept data: no workload to report on.
    assert run(capsys, "status", "--kubeconfig", str(kubeconfig), "-o", "json")[:2] == (
        0, "[]\n")
    assert run(capsys, "uninstall", "--kubeconfig", str(kubeconfig), "--yes",
               "--purge-data")[0] == 0
    code, _, err = run(capsys, "status", "--kubeconfig", str(kubeconfig))
    assert code == 1
    assert "no kfops install on this cluster" in err.replace("\n", " ")


def test_without_a_platform_file_two_installs_need_a_name(kubeconfig: Path,
                                                          tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with Cluster.connect(kubeconfig) as cluster:
        for name in ("lab", "other"):
            cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {
                "name": f"kfops-{name}", "namespace": "kube-system", "labels": {
                    "app.kubernetes.io/managed-by": "kfops", "kfops.io/platform": name,
                    "applyset.kubernetes.io/id": f"applyset-{name}-v1"}}})
    monkeypatch.chdir(tmp_path)

    code, _, err = run(capsys, "uninstall", "--kubeconfig", str(kubeconfig), "--yes")

    assert code == 2  # which one is for the administrator to say
    assert "2 kfops installs (lab, other)" in err and "--name" in err
    code, _, err = run(capsys, "status", "--name", "third", "--kubeconfig", str(kubeconfig))
    assert code == 2 and "--name third: no kfops install of that name" in err


@pytest.mark.usefixtures("local_install")
def test_a_renamed_platform_stops_until_adopt(platform_file: PlatformWriter, kubeconfig: Path,
                                              tmp_path: Path, emulator: RunningEmulator,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    where = ("--kubeconfig", str(kubeconfig), "--offline")
    platform_file()  # installed already: the cluster is a copy of local_install
    renamed = str(platform_file(name="lab2", folder=tmp_path,
                                spec_extra="  components:\n    katib: false\n"))
    before = len(emulator.writes())

    code, out, err = run(capsys, "apply", "-f", renamed, *where)

    assert code == 1 and out == ""
    assert "another kfops install: lab" in err and "kfops apply --adopt lab" in err
    assert "Traceback" not in err
    assert emulator.writes()[before:] == []
    assert run(capsys, "plan", "-f", renamed, *where)[0] == 1

    code, out, _ = run(capsys, "plan", "-f", renamed, *where, "--adopt", "lab")
    assert code == 3
    assert "adopt    install lab (Secret kube-system/kfops-lab)" in out
    assert "prune    Deployment kubeflow/katib-controller" in out
    assert "keep     PersistentVolumeClaim kubeflow/katib-mysql" in out
    assert "holds data (a PersistentVolumeClaim)" in out  # reasons shown without -v

    code, out, _ = run(capsys, "apply", "-f", renamed, *where, "--adopt", "lab")
    assert code == 0
    assert "took over the install lab" in out
    with Cluster.connect(kubeconfig) as cluster:
        assert cluster.get("v1", "Secret", "kfops-lab", "kube-system") is None
        assert cluster.get("apps/v1", "Deployment", "katib-controller", "kubeflow") is None
    assert run(capsys, "plan", "-f", renamed, *where)[0] == 0
