"""Prune and uninstall delete exactly what kfops applied, and plan says so first (issue 20).

The reliability probe (tests/helpers/probe.py) on the emulated cluster: 18
objects kfops never applied, then components off, a profile removed, a rename
with a component off, uninstall keeping data and purging it. Goal: no foreign
object lost, plan equal to apply, no member left that uninstall did not report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kfops.cluster import ApplyOptions, Cluster, RetryPolicy, uninstall
from kfops.config import load_platform
from kfops.errors import AnotherInstall, Unavailable
from kfops.objects import PART_OF, ApplySet, describe
from kfops.operations import apply_platform, plan_platform, platform_applyset
from kfops.render import RenderOptions
from tests.conftest import FAST_WAITS
from tests.emulator import RunningEmulator
from tests.helpers.probe import FOUR_OFF, Probe, platform_yaml


def _kept(probe: Probe, what: str) -> str:
    """The reason the last apply's summary gave for keeping `what`."""
    kept: list[str] = probe.last_summary.kept
    for entry in kept:
        if entry.startswith(what + ": "):
            return entry[len(what) + 2:]
    raise AssertionError(f"{what} was not kept: {probe.last_summary.kept}")


def test_the_probe_loses_no_foreign_object(emulator: RunningEmulator, cluster: Cluster,
                                           tmp_path: Path) -> None:
    probe = Probe(emulator, cluster, tmp_path / "site", FAST_WAITS)
    probe.install()
    assert len(probe.planted) == 18

    step = probe.change("four components switched off", platform_yaml(probe.folder,
                                                                      off=FOUR_OFF))
    assert (step.lost, step.plan_differs) == ([], [])
    assert _kept(probe, "Namespace knative-serving") == (
        "holds 2 objects kfops did not apply: ConfigMap knative-serving/user-cm, Secret "
        "knative-serving/user-token (--purge-foreign deletes them with it)")
    # A CRD with an instance kfops did not apply stays; those without instances go.
    assert _kept(probe, "CustomResourceDefinition experiments.kubeflow.org").startswith(
        "deleting it deletes 1 Experiment object kfops did not apply: Experiment "
        "kubeflow-user-example-com/mnist")
    assert "CustomResourceDefinition suggestions.kubeflow.org" in probe.last_summary.pruned
    # Copied labels: one outside the ApplySet's namespaces, the others never applied by kfops.
    ignored = dict(entry.split(": ", 1) for entry in probe.last_summary.ignored)
    assert sorted(ignored) == [
        "ClusterRole lookalike-reader", "ConfigMap default/lookalike",
        "ConfigMap kubeflow/lookalike", "Secret istio-system/lookalike"]
    assert ignored["ConfigMap default/lookalike"] == (
        "carries this install's ApplySet label, but namespace default is not one the "
        "ApplySet lists; left alone")
    assert "kfops never applied it (the label was set by before-first-apply)" in \
        ignored["ConfigMap kubeflow/lookalike"]

    step = probe.change("a profile removed", platform_yaml(probe.folder, profiles=False,
                                                           off=FOUR_OFF))
    assert (step.lost, step.plan_differs) == ([], [])
    assert _kept(probe, "Profile team-a") == (
        "its namespace holds users' data kfops did not apply: PersistentVolumeClaim "
        "team-a/workspace (only --purge-data with --purge-foreign deletes it)")

    renamed = platform_yaml(probe.folder, "lab2", profiles=False, off=(*FOUR_OFF, "tensorboards"))
    before = len(emulator.writes())
    with pytest.raises(AnotherInstall, match="--adopt lab"):
        plan_platform(load_platform(renamed), cluster, RenderOptions(offline=True))
    with pytest.raises(AnotherInstall, match="kube-system/kfops-lab"):
        apply_platform(load_platform(renamed), cluster, ApplyOptions(waits=FAST_WAITS),
                       render_options=RenderOptions(offline=True))
    assert emulator.writes()[before:] == []

    step = probe.change("rename + a component off (--adopt lab)", renamed, adopt=("lab",))
    assert (step.lost, step.plan_differs) == ([], [])
    assert probe.last_summary.taken_over == ["lab"]
    assert "Deployment kubeflow/tensorboard-controller-deployment" in probe.last_summary.pruned
    assert cluster.get("v1", "Secret", "kfops-lab", "kube-system") is None
    # What stays under the old id is listed as kept, and the new parent still tracks that id.
    old_id = ApplySet("lab").id
    left_old = {what for what, applyset in probe.member_ids().items() if applyset == old_id}
    assert left_old == {entry.split(":")[0] for entry in probe.last_summary.kept}
    parent = cluster.get("v1", "Secret", "kfops-lab2", "kube-system")
    assert parent is not None
    assert old_id in parent["metadata"]["annotations"]["kfops.io/applyset-ids"]

    step = probe.remove("uninstall, data kept", "lab2")
    assert (step.lost, step.unexplained) == ([], [])
    assert "PersistentVolumeClaim kubeflow/katib-mysql" in step.members_left  # under the old id

    step = probe.remove("uninstall --purge-data", "lab2", purge_data=True)
    assert (step.lost, step.unexplained) == ([], [])
    assert "PersistentVolumeClaim kubeflow/katib-mysql" not in step.members_left
    # Only what holds objects kfops did not apply is left, each kept with that reason.
    assert set(step.members_left) == {
        "Namespace auth", "Namespace cert-manager", "Namespace istio-system",
        "Namespace knative-serving", "Namespace kubeflow", "Namespace kubeflow-system",
        "Profile kubeflow-user-example-com", "Profile team-a",
        "CustomResourceDefinition experiments.kubeflow.org",
        "CustomResourceDefinition profiles.kubeflow.org"}

    step = probe.remove("uninstall --purge-data --purge-foreign", "lab2", purge_data=True,
                        purge_foreign=True)
    assert step.members_left == []
    assert cluster.get("v1", "Secret", "kfops-lab2", "kube-system") is None
    # The explicit flag took what was inside kfops's namespaces, Profiles and CRDs only.
    survivors = {("", "namespaces", "", "unrelated"), ("", "configmaps", "unrelated", "data"),
                 ("", "configmaps", "default", "lookalike"),
                 ("rbac.authorization.k8s.io", "clusterroles", "", "lookalike-reader")}
    assert {lost.split(" (")[0] for lost in step.lost} == {
        str(f.key) for f in probe.planted if f.key not in survivors}


def test_plan_shows_what_purge_foreign_deletes(emulator: RunningEmulator, cluster: Cluster,
                                               tmp_path: Path) -> None:
    probe = Probe(emulator, cluster, tmp_path / "site", FAST_WAITS)
    probe.install()
    off = platform_yaml(probe.folder, off=("kserve", "knativeServing"))

    plain = plan_platform(load_platform(off), cluster, RenderOptions(offline=True))
    purging = plan_platform(load_platform(off), cluster, RenderOptions(offline=True),
                            options=ApplyOptions(purge_foreign=True))

    assert [(e.action, e.changes) for e in plain.entries
            if e.object == "Namespace knative-serving"] == [("keep", [
                "holds 2 objects kfops did not apply: ConfigMap knative-serving/user-cm, "
                "Secret knative-serving/user-token (--purge-foreign deletes them with it)"])]
    assert [(e.action, e.changes) for e in purging.entries
            if e.object == "Namespace knative-serving"] == [("prune", [
                "also deletes 2 objects kfops did not apply: ConfigMap knative-serving/user-cm, "
                "Secret knative-serving/user-token (--purge-foreign)"])]
    step = probe.change("two components off, --purge-foreign", off, purge_foreign=True)
    assert step.plan_differs == []
    assert {lost.split(" (")[0] for lost in step.lost} == {
        "('', 'configmaps', 'knative-serving', 'user-cm')",
        "('', 'secrets', 'knative-serving', 'user-token')"}


def test_an_interrupted_adoption_finishes_without_adopt(
        emulator: RunningEmulator, cluster: Cluster, tmp_path: Path) -> None:
    apply_platform(load_platform(platform_yaml(tmp_path / "site")), cluster,
                   ApplyOptions(waits=FAST_WAITS), render_options=RenderOptions(offline=True))
    # `apply --adopt lab` of the renamed file stopped right after writing its parent
    # (which lists the old id) and before removing the old parent.
    old = cluster.get("v1", "Secret", "kfops-lab", "kube-system")
    assert old is not None
    metadata = old["metadata"]
    annotations = {**metadata["annotations"], "kfops.io/applyset-ids": ",".join(
        sorted([ApplySet("lab").id, ApplySet("lab2").id]))}
    cluster.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {
        "name": "kfops-lab2", "namespace": "kube-system", "annotations": annotations,
        "labels": {**metadata["labels"], "kfops.io/platform": "lab2",
                   "applyset.kubernetes.io/id": ApplySet("lab2").id}}})
    renamed = load_platform(platform_yaml(tmp_path / "site", "lab2"))

    plan = plan_platform(renamed, cluster, RenderOptions(offline=True))
    result = apply_platform(renamed, cluster, ApplyOptions(waits=FAST_WAITS),
                            render_options=RenderOptions(offline=True))

    assert [e.object for e in plan.entries if e.action == "adopt"] == [
        "install lab (Secret kube-system/kfops-lab)"]
    assert result.summary.taken_over == ["lab"]
    assert result.summary.pruned == []
    assert cluster.get("v1", "Secret", "kfops-lab", "kube-system") is None


def test_uninstall_removes_everything_applied_under_an_adopted_id(
        emulator: RunningEmulator, cluster: Cluster, tmp_path: Path) -> None:
    site = tmp_path / "site"
    apply_platform(load_platform(platform_yaml(site)), cluster, ApplyOptions(waits=FAST_WAITS),
                   render_options=RenderOptions(offline=True))
    # Interrupted right after the adoption was recorded: nothing relabelled or pruned yet.
    renamed = load_platform(platform_yaml(site, "lab2", off=("tensorboards",)))
    apply_platform(renamed, cluster, ApplyOptions(waits=FAST_WAITS, adopt=("lab",),
                                                  prune=False),
                   render_options=RenderOptions(offline=True))
    left = [key for key, entry in emulator.state.objects.items()
            if (entry.obj["metadata"].get("labels") or {}).get(
                "applyset.kubernetes.io/part-of") == ApplySet("lab").id]
    assert any(key[3] == "tensorboard-controller-deployment" for key in left)

    uninstall(cluster, platform_applyset(renamed), purge_data=True, waits=FAST_WAITS)

    ids = {ApplySet("lab").id, ApplySet("lab2").id}
    assert [key for key, entry in emulator.state.objects.items()
            if (entry.obj["metadata"].get("labels") or {}).get(
                "applyset.kubernetes.io/part-of") in ids] == []


def test_an_interrupted_prune_finishes_on_the_next_apply(
        emulator: RunningEmulator, kubeconfig: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with Cluster.connect(kubeconfig, retry=RetryPolicy(attempts=2, base=0, jitter=0)) as cluster:
        apply_platform(load_platform(platform_yaml(site)), cluster,
                       ApplyOptions(waits=FAST_WAITS), render_options=RenderOptions(offline=True))
        without = load_platform(platform_yaml(site, off=("katib", "tensorboards")))
        # The API server fails every deletion after the fifth: the prune stops half done.
        emulator.faults.methods, emulator.faults.skip = ("DELETE",), 5
        emulator.faults.rate, emulator.faults.kinds = 1.0, ("500",)
        with pytest.raises(Unavailable):
            apply_platform(without, cluster, ApplyOptions(waits=FAST_WAITS),
                           render_options=RenderOptions(offline=True))
        emulator.faults.rate = 0.0
        assert cluster.get("apps/v1", "Deployment", "katib-controller", "kubeflow") is not None

        again = apply_platform(without, cluster, ApplyOptions(waits=FAST_WAITS),
                               render_options=RenderOptions(offline=True))
        plan = plan_platform(without, cluster, RenderOptions(offline=True))

    assert "Deployment kubeflow/katib-controller" in again.summary.pruned
    assert [e for e in plan.entries if e.action not in ("unchanged", "keep")] == []
    # Every object kfops applied is either in the platform or kept with a reason.
    wanted = {describe(o.obj) for o in again.render.bundle.objects}
    kept = {entry.split(":")[0] for entry in again.summary.kept}
    with emulator.lock:
        labelled = {describe(e.obj) for e in emulator.state.objects.values()
                    if (e.obj["metadata"].get("labels") or {}).get(PART_OF)}
    assert labelled - wanted - kept == set()
