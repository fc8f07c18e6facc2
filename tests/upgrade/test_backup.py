"""`kfops backup` and `kfops restore` of a 26.03 platform applied to the emulator from the real
upstream render, its database Jobs run on this machine against MariaDB servers."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfops.cluster import Cluster, WaitSettings
from kfops.config import load_platform
from kfops.errors import ClusterError, InputError
from kfops.objects import ApplySet
from kfops.operations import backup_platform, platform_applyset, restore_platform
from kfops.secrets import state_dir_for
from kfops.upgrade import BackupOptions, RestoreOptions
from tests.cluster.conftest import apply
from tests.conftest import PlatformWriter
from tests.emulator import RunningEmulator
from tests.helpers.cli import kfops
from tests.helpers.mariadb import LocalKubelet, platform_databases

TEAMS = """\
  profiles:
  - name: team-a
    owner: alice@example.com
    podDefaults: [pipelineAccess]
"""
WAITS = WaitSettings(timeout=30, interval=0.02, failure_grace=0)
NOTEBOOK: dict[str, Any] = {"apiVersion": "kubeflow.org/v1", "kind": "Notebook",
            "metadata": {"name": "nb", "namespace": "team-a", "labels": {"app": "nb"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "nb", "image": "kubeflownotebookswg/jupyter-scipy:v1.10.0"}]}}}}
EXPERIMENT: dict[str, Any] = {"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment",
              "metadata": {"name": "tune", "namespace": "team-a"},
              "spec": {"objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
                       "algorithm": {"algorithmName": "random"}, "maxTrialCount": 2}}
TRIAL: dict[str, Any] = {"apiVersion": "kubeflow.org/v1beta1", "kind": "Trial",
         "metadata": {"name": "tune-1", "namespace": "team-a", "ownerReferences": [
             {"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment", "name": "tune",
              "uid": "set-below", "controller": True}]},
         "spec": {"objective": {"type": "maximize", "objectiveMetricName": "accuracy"}}}
PODDEFAULT: dict[str, Any] = {"apiVersion": "kubeflow.org/v1alpha1", "kind": "PodDefault",
              "metadata": {"name": "team-gpu", "namespace": "team-a"},
              "spec": {"desc": "GPU", "selector": {"matchLabels": {"gpu": "true"}}}}
PVC: dict[str, Any] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
       "metadata": {"name": "workspace-nb", "namespace": "team-a"},
       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
NODE: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
        "status": {"allocatable": {"cpu": "8", "memory": "32Gi"}}}


def secret_value(cluster: Cluster, name: str, key: str) -> str:
    secret = cluster.get("v1", "Secret", name, "kubeflow")
    assert secret is not None
    return base64.b64decode(secret["data"][key]).decode()


@pytest.fixture
def installed(platform_file: PlatformWriter, cluster: Cluster,
              emulator: RunningEmulator) -> Path:
    """The local 26.03 platform with a team, applied; the team's notebook, PodDefault,
    experiment (with a trial it owns) and a PVC; a node for Jobs. Its platform file."""
    path = platform_file(spec_extra=TEAMS)
    apply(load_platform(path), cluster)
    with emulator.lock:
        emulator.state.create(emulator.state.kind("", "nodes"), "",
                              {k: v for k, v in NODE.items() if k != "status"}, dry_run=False)
        emulator.state.report_status(("", "nodes", "", "node-1"), NODE["status"])
    for obj in (NOTEBOOK, EXPERIMENT, PODDEFAULT, PVC):
        cluster.create(obj)
    experiment = cluster.get("kubeflow.org/v1beta1", "Experiment", "tune", "team-a")
    assert experiment is not None
    TRIAL["metadata"]["ownerReferences"][0]["uid"] = experiment["metadata"]["uid"]
    cluster.create(TRIAL)
    return path


@pytest.fixture
def kubelet(installed: Path, cluster: Cluster, emulator: RunningEmulator,
            tmp_path: Path) -> Iterator[LocalKubelet]:
    """Jobs' containers run here; each database Service answered by its own MariaDB, with
    the password the platform's Secret holds and a table of data."""
    with platform_databases(
            emulator, cluster, tmp_path,
            pipelines_sql="CREATE DATABASE mlpipeline; CREATE TABLE mlpipeline.runs (id INT "
                          "PRIMARY KEY, name TEXT); INSERT INTO mlpipeline.runs VALUES "
                          "(1, 'train'), (2, 'eval')",
            katib_sql="CREATE DATABASE katib; CREATE TABLE katib.observation_logs (trial_name "
                      "VARCHAR(64), metric_name TEXT, value TEXT); INSERT INTO "
                      "katib.observation_logs VALUES ('tune-1', 'accuracy', '0.93')") as runner:
        yield runner


def custom(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """The team's custom objects as they are on the cluster, without server-set fields."""
    found = {}
    for api_version, kind in (("kubeflow.org/v1", "Notebook"), ("kubeflow.org/v1beta1",
                              "Experiment"), ("kubeflow.org/v1alpha1", "PodDefault"),
                              ("kubeflow.org/v1", "Profile")):
        for obj in cluster.list(api_version, kind):
            metadata = {k: v for k, v in obj["metadata"].items() if k not in (
                "uid", "resourceVersion", "managedFields", "creationTimestamp", "generation")}
            found[f"{kind} {metadata.get('namespace', '')}/{metadata['name']}"] = {
                **obj, "metadata": metadata}
    return found


def test_backup_holds_the_objects_state_and_dumps_privately(
        installed: Path, cluster: Cluster, kubelet: LocalKubelet, tmp_path: Path) -> None:
    out = tmp_path / "backups" / "before-upgrade"
    applyset = platform_applyset(load_platform(installed))
    result = backup_platform(cluster, applyset, BackupOptions(
        out=out, state_dir=state_dir_for(installed), waits=WAITS))

    # Files and modes: the folder 0700, every file 0600 (the state holds secrets).
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_dir()} == {0o700}
    assert (out / "state" / "secrets.json").read_bytes() == \
        (state_dir_for(installed) / "secrets.json").read_bytes()
    assert result.state_files == ("secrets.json",)

    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["apiVersion"], manifest["kind"], manifest["platform"]) == (
        "kfops.io/v1alpha1", "Backup", "lab")
    assert manifest["release"] == "26.03"  # as the install's parent records it
    inventory = json.loads((out / "inventory.json").read_text())
    assert inventory["metadata"]["name"] == "kfops-lab"
    assert "uid" not in inventory["metadata"]

    # One list per kind, counts in the manifest; the owned Trial left to its Experiment.
    objects = manifest["objects"]
    assert (objects["Profile.kubeflow.org"]["saved"], objects["Notebook.kubeflow.org"]["saved"],
            objects["Experiment.kubeflow.org"]["saved"]) == (2, 1, 1)
    assert (objects["Trial.kubeflow.org"]["saved"],
            objects["Trial.kubeflow.org"]["ownedLeftOut"]) == (0, 1)
    # The team's own PodDefault and the file's pipelineAccess one.
    assert objects["PodDefault.kubeflow.org"]["saved"] == 2
    assert {k.kind: k.saved for k in result.kinds} == {
        kind: entry["saved"] for kind, entry in objects.items()}
    saved = json.loads((out / "objects" / "Notebook.kubeflow.org.json").read_text())
    [notebook] = saved["items"]
    assert notebook["metadata"] == {"name": "nb", "namespace": "team-a", "labels": {"app": "nb"}}
    assert notebook["spec"] == NOTEBOOK["spec"]
    assert "PersistentVolumeClaim" not in json.dumps(manifest["objects"])  # built in: not saved

    # The dumps: a Job per database, into the kept PVC, reported with size and checksum.
    dumps = {d["database"]: d for d in manifest["dumps"]["files"]}
    assert set(dumps) == {"pipelines", "katib"}
    assert dumps["pipelines"]["schemas"] == ["mlpipeline"]
    assert dumps["katib"]["schemas"] == ["katib"]
    claim = kubelet.claim_folder("kubeflow", "kfops-backups")
    for dump in dumps.values():
        assert dump["path"] == f"before-upgrade/{dump['database']}.sql.gz"
        assert (claim / dump["path"]).stat().st_size == dump["bytes"]
    pvc = cluster.get("v1", "PersistentVolumeClaim", "kfops-backups", "kubeflow")
    assert pvc is not None
    assert "applyset.kubernetes.io/part-of" not in pvc["metadata"]["labels"]
    assert pvc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kfops"
    assert cluster.list("batch/v1", "Job", "kubeflow") == []  # deleted once they succeeded


def test_the_dump_jobs_run_as_their_database_does(installed: Path, cluster: Cluster,
                                                  kubelet: LocalKubelet,
                                                  tmp_path: Path) -> None:
    backup_platform(cluster, ApplySet("lab"),
                    BackupOptions(out=tmp_path / "b", waits=WAITS))
    pods = {pod["metadata"]["name"].rsplit("-", 1)[0]: pod for pod in kubelet.runs}
    assert set(pods) == {"kfops-dump-pipelines", "kfops-dump-katib"}
    for name, deployment, secret, key in (
            ("pipelines", "mysql", "mysql-secret", "password"),
            ("katib", "katib-mysql", "katib-mysql-secrets", "MYSQL_ROOT_PASSWORD")):
        live = cluster.get("apps/v1", "Deployment", deployment, "kubeflow")
        assert live is not None
        database = live["spec"]["template"]["spec"]["containers"][0]
        pod = pods[f"kfops-dump-{name}"]
        [container] = pod["spec"]["containers"]
        assert container["image"] == database["image"]  # mysqldump matches the server
        env = {e["name"]: e for e in container["env"]}
        assert env["DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": secret, "key": key}}
        assert env["DB_HOST"]["value"] == f"{deployment}.kubeflow.svc"
        assert {"name": "backups", "persistentVolumeClaim": {"claimName": "kfops-backups"}} in \
            pod["spec"]["volumes"]
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert "mysqldump" in container["command"][2]
        assert "--single-transaction" in container["command"][2]
    # Pipelines' MySQL is in the mesh and admits the pipelines services only; Katib's is not.
    assert pods["kfops-dump-pipelines"]["spec"]["serviceAccountName"] == "ml-pipeline"
    assert pods["kfops-dump-pipelines"]["metadata"]["annotations"] == {
        "sidecar.istio.io/nativeSidecar": "true"}
    assert pods["kfops-dump-katib"]["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"


def test_round_trip_restores_what_is_missing_and_never_overwrites(
        installed: Path, cluster: Cluster, kubelet: LocalKubelet, tmp_path: Path) -> None:
    before = custom(cluster)
    result = backup_platform(cluster, ApplySet("lab"), BackupOptions(out=tmp_path / "b",
                                                                     waits=WAITS))
    # Lost: the team's notebook, experiment and PodDefault, and a database table's rows.
    for api_version, kind, name in (("kubeflow.org/v1", "Notebook", "nb"),
                                    ("kubeflow.org/v1beta1", "Experiment", "tune"),
                                    ("kubeflow.org/v1alpha1", "PodDefault", "team-gpu")):
        assert cluster.delete(api_version, kind, name, "team-a")
    kubelet.servers["mysql.kubeflow.svc"].sql("DELETE FROM mlpipeline.runs")
    # Changed since the backup: restore must leave it as it is now.
    cluster.merge_patch("kubeflow.org/v1alpha1", "PodDefault", "access-ml-pipeline",
                        {"spec": {"desc": "changed after the backup"}}, "team-a")

    restored = restore_platform(cluster, result.folder,
                                RestoreOptions(platform="lab", databases=True, waits=WAITS))

    assert sorted(restored.restored) == ["Experiment team-a/tune", "Notebook team-a/nb",
                                         "PodDefault team-a/team-gpu"]
    assert restored.skipped == [] and restored.finished == []
    assert "PodDefault team-a/access-ml-pipeline" in restored.kept
    assert "Profile team-a" in restored.kept
    assert restored.databases == ["pipelines", "katib"]
    assert kubelet.servers["mysql.kubeflow.svc"].sql(
        "SELECT id, name FROM mlpipeline.runs ORDER BY id") == "1\ttrain\n2\teval\n"
    after = custom(cluster)
    changed = after.pop("PodDefault team-a/access-ml-pipeline")
    assert changed["spec"]["desc"] == "changed after the backup"
    before.pop("PodDefault team-a/access-ml-pipeline")
    assert after == before

    # Run again: everything is there, nothing is written.
    again = restore_platform(cluster, result.folder, RestoreOptions(waits=WAITS))
    assert again.restored == [] and len(again.kept) == result.objects


def test_restore_waits_for_a_profiles_namespace_and_skips_finished_runs(
        installed: Path, cluster: Cluster, kubelet: LocalKubelet, emulator: RunningEmulator,
        tmp_path: Path) -> None:
    with emulator.lock:  # as Katib's controller reports an experiment that ended
        emulator.state.report_status(("kubeflow.org", "experiments", "team-a", "tune"), {
            "conditions": [{"type": "Succeeded", "status": "True"}]})
    result = backup_platform(cluster, ApplySet("lab"),
                             BackupOptions(out=tmp_path / "b", databases=False))
    assert result.dumps == () and kubelet.runs == []
    # The Profile goes, and its namespace with all in it.
    cluster.delete("kubeflow.org/v1", "Profile", "team-a")
    assert cluster.get("v1", "Namespace", "team-a") is None

    restored = restore_platform(cluster, result.folder, RestoreOptions(waits=WAITS))

    assert restored.restored[0] == "Profile team-a"  # first: the others need its namespace
    assert "Notebook team-a/nb" in restored.restored
    assert restored.finished == ["Experiment team-a/tune"]  # it would run again
    assert cluster.get("kubeflow.org/v1beta1", "Experiment", "tune", "team-a") is None
    assert restored.counts["Notebook.kubeflow.org"] == {"restored": 1}


def test_a_failing_dump_job_names_the_job_and_its_log(installed: Path, cluster: Cluster,
                                                      kubelet: LocalKubelet,
                                                      tmp_path: Path) -> None:
    kubelet.servers["mysql.kubeflow.svc"].sql(
        "ALTER USER root@'127.0.0.1' IDENTIFIED BY 'not-what-the-secret-holds'")
    with pytest.raises(ClusterError) as caught:
        backup_platform(cluster, ApplySet("lab"), BackupOptions(out=tmp_path / "b",
                                                                waits=WAITS))
    message = str(caught.value)
    assert message.startswith("Job kubeflow/kfops-dump-pipelines failed: pod "
                              "kfops-dump-pipelines-emu01 Failed; dump exited 1 (Error)")
    assert "Access denied for user 'root'" in message
    assert secret_value(cluster, "mysql-secret", "password") not in message
    assert not (tmp_path / "b" / "manifest.json").exists()  # not a finished backup
    # A second run replaces the failed Job (same name) and goes on once the server lets in.
    kubelet.servers["mysql.kubeflow.svc"].sql(
        "ALTER USER root@'127.0.0.1' IDENTIFIED BY "
        f"'{secret_value(cluster, 'mysql-secret', 'password')}'", "not-what-the-secret-holds")
    result = backup_platform(cluster, ApplySet("lab"), BackupOptions(out=tmp_path / "c",
                                                                     waits=WAITS))
    assert [d.database for d in result.dumps] == ["pipelines", "katib"]


def test_backup_and_restore_from_the_command_line(installed: Path, kubeconfig: Path,
                                                  cluster: Cluster, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    where = ("--kubeconfig", str(kubeconfig))
    code, out, err = kfops("backup", "--platform", "lab", *where, "--no-databases", "-o",
                           "json")
    assert (code, err) == (0, ""), err
    summary = json.loads(out)
    folder = Path(summary["folder"])
    assert folder.name.startswith("kfops-backup-lab-") and folder.name.endswith("Z")
    assert summary["kinds"]["Notebook.kubeflow.org"] == {"saved": 1, "ownedLeftOut": 0}
    assert summary["stateFiles"] == []  # no platform file named: no state directory known
    state = (state_dir_for(installed) / "secrets.json").read_text()
    for value in json.loads(state).values():
        assert value not in out  # no secret value printed

    cluster.delete("kubeflow.org/v1", "Notebook", "nb", "team-a")
    code, out, err = kfops("restore", str(folder), "-f", str(installed), *where)
    assert (code, err.strip()) == (0, "")
    assert "restored 1 objects" in out

    # Refused before any request, exit 2: not a backup, a backup of another install.
    code, _, err = kfops("restore", str(tmp_path), *where)
    assert code == 2
    assert "is not a kfops backup (it has no manifest.json" in err
    code, _, err = kfops("restore", str(folder), "--name", "other", *where)
    assert code == 2
    assert "is a backup of the install lab, not of other" in err
    code, _, err = kfops("backup", "--name", "lab", "--out", str(folder), *where)
    assert code == 2
    assert "exists and is not an empty folder" in err


def test_a_folder_that_is_not_a_backup_is_refused_without_a_cluster(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"apiVersion": "v1", "kind": "List"}')
    with pytest.raises(InputError, match="is not a kfops backup manifest"):
        restore_platform(None, tmp_path)  # type: ignore[arg-type]  # never reached
