"""`kfops apply` of the real 26.03 platform against the emulated API server."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfops.cluster import ApplyOptions, BundleFile, Cluster, WaitSettings, apply_bundle
from kfops.config import LoadedPlatform
from kfops.errors import InvalidObject, WaitTimeout
from kfops.health import platform_status
from kfops.operations import apply_platform, applyset_of, bundle_files, render_platform
from kfops.render import RenderOptions
from tests.conftest import FAST_WAITS, LocalInstall
from tests.emulator import RunningEmulator
from tests.helpers.presets import render_preset

from .conftest import apply, stored


def test_full_apply_ends_healthy_with_one_write_per_object(
        platform: LoadedPlatform, cluster: Cluster, emulator: RunningEmulator) -> None:
    result = apply(platform, cluster)

    objects = result.render.bundle.objects
    assert len(objects) > 600
    assert len(result.summary.created) == len(objects)
    assert not result.summary.updated
    # One write per object, plus the ApplySet parent Secret: a server-side apply, or a
    # create for the Secrets holding generated values (created once, never overwritten).
    writes = emulator.writes()
    assert len(writes) == len(objects) + 1
    generated = {g.secret for g in result.render.bundle.generated}
    assert len(generated) >= 4
    assert sorted(w.path for w in writes if w.method == "POST") == sorted(
        f"/api/v1/namespaces/{namespace}/secrets" for _, _, namespace, _ in generated)
    assert all(w.method == "PATCH" for w in writes if w.method != "POST")
    rows = platform_status(cluster, bundle_files(result.render.bundle))
    assert {r.state for r in rows} == {"ready"}, [r for r in rows if r.state != "ready"]
    parent = cluster.get("v1", "Secret", "kfops-lab", "kube-system")
    assert parent is not None
    assert parent["metadata"]["labels"]["applyset.kubernetes.io/id"].startswith("applyset-")


def test_second_apply_sends_no_write(platform: LoadedPlatform, cluster: Cluster,
                                     emulator: RunningEmulator) -> None:
    first = apply(platform, cluster)
    before = len(emulator.writes())

    again = apply(platform, cluster)

    assert emulator.writes()[before:] == []
    assert len(again.summary.unchanged) == len(first.render.bundle.objects)


def test_drifted_field_is_repaired(platform: LoadedPlatform, cluster: Cluster,
                                   emulator: RunningEmulator,
                                   local_install: LocalInstall) -> None:
    # Someone scales a deployment and removes a namespace label by hand (another manager).
    cluster.merge_patch("apps/v1", "Deployment", "cache-server", {"spec": {"replicas": 5}},
                        "kubeflow")
    cluster.merge_patch("v1", "Namespace", "kubeflow",
                        {"metadata": {"labels": {"istio-injection": None}}})
    before = len(emulator.writes())

    again = apply(platform, cluster)

    assert sorted(again.summary.updated) == ["Deployment kubeflow/cache-server",
                                             "Namespace kubeflow"]
    assert len(emulator.writes()) - before == 2
    deployment = cluster.get("apps/v1", "Deployment", "cache-server", "kubeflow")
    assert deployment is not None and deployment["spec"]["replicas"] == 1
    namespace = cluster.get("v1", "Namespace", "kubeflow")
    assert namespace is not None
    assert namespace["metadata"]["labels"]["istio-injection"] == "enabled"


def test_apply_converges_through_ten_percent_transient_faults(
        platform: LoadedPlatform, cluster: Cluster, emulator: RunningEmulator) -> None:
    emulator.faults.rate = 0.1  # 429 (Retry-After), 500 and dropped connections on writes

    result = apply(platform, cluster)

    assert len(emulator.faults.injected) > 30
    assert {f.kind for f in emulator.faults.injected} == {"429", "500", "drop"}
    emulator.faults.rate = 0
    before = len(emulator.writes())
    again = apply(platform, cluster)
    assert emulator.writes()[before:] == []
    assert len(again.summary.unchanged) == len(result.render.bundle.objects)


class _Killed(Exception):
    pass


class _KillAfter:
    """A progress display whose process dies after `count` objects."""

    def __init__(self, count: int) -> None:
        self.count = count

    def step(self, label: str, total: int) -> None:
        pass

    def object_done(self, what: str, outcome: str) -> None:
        self.count -= 1
        if self.count == 0:
            raise _Killed(what)

    def waiting(self, what: str, reasons: list[str]) -> None:
        pass


@pytest.mark.parametrize("killed_after", [1, 150, 400])
def test_apply_killed_midway_converges_when_run_again(
        platform: LoadedPlatform, cluster: Cluster, emulator: RunningEmulator,
        killed_after: int) -> None:
    with pytest.raises(_Killed):
        apply_platform(platform, cluster, ApplyOptions(waits=FAST_WAITS),
                       render_options=RenderOptions(offline=True),
                       progress=_KillAfter(killed_after))
    partial = len(stored(emulator))

    result = apply(platform, cluster)

    objects = result.render.bundle.objects
    assert len(result.summary.unchanged) == killed_after
    assert len(result.summary.created) == len(objects) - killed_after
    # Everything exactly once: the platform, the parent, the install's Lease (given back),
    # the namespaces the cluster had and the one the profile controller made for the
    # example Profile, and in each namespace what the controller manager puts there (the
    # default ServiceAccount, kube-root-ca.crt).
    keys = stored(emulator)
    profiles = sum(1 for o in objects if o.obj["kind"] == "Profile")
    namespaces = sum(1 for k in keys if k[:2] == ("", "namespaces"))
    assert len(keys) == len(objects) + 1 + 1 + 4 + profiles + 2 * namespaces > partial
    lease = cluster.get("coordination.k8s.io/v1", "Lease", "kfops-lab", "kube-system")
    assert lease is not None and "holderIdentity" not in lease["spec"]
    before = len(emulator.writes())
    apply(platform, cluster)
    assert emulator.writes()[before:] == []


def test_bad_object_stops_with_its_name_before_later_steps(
        platform: LoadedPlatform, cluster: Cluster, emulator: RunningEmulator) -> None:
    bundle = render_platform(platform, RenderOptions(offline=True)).bundle
    files = bundle_files(bundle)
    istio = next(i for i, f in enumerate(files)
                 if f.component == "istio" and f.stage == "30-platform")
    bad = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "Not_A_Valid_Name", "namespace": "istio-system"}}
    files[istio] = BundleFile(files[istio].path, files[istio].component,
                                      (*files[istio].objects, bad))

    with pytest.raises(InvalidObject, match="ConfigMap istio-system/Not_A_Valid_Name"):
        apply_bundle(cluster, files, applyset_of(bundle), ApplyOptions(waits=FAST_WAITS))

    earlier = {o["metadata"]["name"] for f in files[:istio + 1] for o in f.objects}
    later = {o["metadata"]["name"] for f in files[istio + 1:] for o in f.objects} - earlier
    sent = {w.path.rsplit("/", 1)[-1] for w in emulator.writes()}
    assert "cert-manager-webhook" in sent  # the components before istio went through
    assert len(later) > 100
    assert not later & sent


def test_workload_that_never_becomes_available_times_out_naming_pod_and_event(
        platform: LoadedPlatform, cluster: Cluster, emulator: RunningEmulator,
        local_install: LocalInstall) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "ml-pipeline-ui-6d4f-abcde", "namespace": "kubeflow",
        "labels": {"app": "ml-pipeline-ui", "app.kubernetes.io/component": "ml-pipeline",
                   "app.kubernetes.io/name": "kubeflow-pipelines",
                   "application-crd-id": "kubeflow-pipelines"}},
        "spec": {"containers": [{"name": "ml-pipeline-ui", "image": "x"}]}})
    with emulator.lock:
        emulator.state.report_status(("", "pods", "kubeflow", "ml-pipeline-ui-6d4f-abcde"), {
            "phase": "Pending", "containerStatuses": [{"name": "ml-pipeline-ui", "state": {
                "waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling"}}}]})
    cluster.apply({"apiVersion": "v1", "kind": "Event", "metadata": {
        "name": "ml-pipeline-ui-6d4f-abcde.1", "namespace": "kubeflow"},
        "involvedObject": {"kind": "Pod", "name": "ml-pipeline-ui-6d4f-abcde"},
        "reason": "Failed", "message": "Failed to pull image", "lastTimestamp":
            "2026-11-22T10:00:00Z"})
    # From now on, a changed workload never becomes available again.
    emulator.state.settings.workload_delay = 3600
    cluster.merge_patch("apps/v1", "Deployment", "ml-pipeline-ui",
                        {"spec": {"template": {"metadata": {"labels": {"edited": "yes"}}}}},
                        "kubeflow")

    with pytest.raises(WaitTimeout) as caught:
        apply(platform, cluster, waits=WaitSettings(timeout=0.3, interval=0.05))

    message = str(caught.value)
    assert "Deployment kubeflow/ml-pipeline-ui: " in message
    assert "pod ml-pipeline-ui-6d4f-abcde Pending (ml-pipeline-ui ImagePullBackOff" in message
    assert "last event: Failed Failed to pull image" in message


def test_onprem_platform_applies_prerequisites_before_the_platform(
        cluster: Cluster, emulator: RunningEmulator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "from-the-environment")
    monkeypatch.setenv("KFOPS_STATE_DIR", str(tmp_path / "state"))
    bundle = render_preset(tmp_path / "onprem", "onprem", "26.03").bundle
    files = bundle_files(bundle)

    summary = apply_bundle(cluster, files, applyset_of(bundle), ApplyOptions(waits=FAST_WAITS))

    assert len(summary.created) == len(bundle.objects)
    order = [w.path for w in emulator.writes()]
    pool = next(i for i, p in enumerate(order) if "/ipaddresspools/" in p)
    assert pool < next(i for i, p in enumerate(order) if "/deployments/istiod" in p)
    assert {r.state for r in platform_status(cluster, files)} == {"ready"}
