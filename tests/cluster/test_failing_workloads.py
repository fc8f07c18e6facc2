"""Apply stops at once on workloads that cannot start by themselves (image pull, crash loop,
missing configuration, no node), naming the workload, the reason and the last event; `status`
judges pods by the same list. Real objects of the 26.03 render, applied component by component
to the emulator, whose kubelet keeps the chosen workload failing (tests/emulator/_kubelet.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfops.cluster import (
    ApplyOptions,
    BundleFile,
    Cluster,
    WaitSettings,
    apply_bundle,
)
from kfops.config import load_platform
from kfops.errors import WaitTimeout, WorkloadFailed
from kfops.health import platform_status
from kfops.operations import applyset_of, bundle_files, render_platform
from kfops.render import Bundle, RenderOptions
from tests.conftest import MANIFESTS, REMOTE_CACHE
from tests.emulator import RunningEmulator

#: Long enough that an apply which waited for it would fail the test by its own timeout.
AT_ONCE = WaitSettings(timeout=120, interval=0.02, failure_grace=0)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """The default local 26.03 platform, rendered once for this module."""
    folder = tmp_path_factory.mktemp("platform")
    path = folder / "platform.yaml"
    path.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: lab}\n"
                    "spec:\n  target: local\n  release:\n    version: \"26.03\"\n"
                    f"    source: {MANIFESTS / '26.03'}\n    remoteCache: {REMOTE_CACHE}\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_STATE_DIR", str(folder / "state"))
        return render_platform(load_platform(path), RenderOptions(offline=True)).bundle


def files_of(bundle: Bundle, *components: str) -> list[BundleFile]:
    """Every CRD of the bundle, and the namespaces and objects of `components`."""
    return [f for f in bundle_files(bundle)
            if f.stage == "00-crds" or Path(f.path).stem in components]


def apply(cluster: Cluster, bundle: Bundle, waits: WaitSettings, *components: str) -> None:
    apply_bundle(cluster, files_of(bundle, *components), applyset_of(bundle),
                 ApplyOptions(waits=waits))


LAST_EVENTS = {
    "ErrImagePull": "Failed Error: ErrImagePull",
    "ImagePullBackOff": "Failed Error: ImagePullBackOff",
    "CrashLoopBackOff": "BackOff Back-off restarting failed container dex in pod dex-",
    "CreateContainerConfigError": 'Failed Error: secret "dex-oidc-client" not found',
    "Unschedulable": "FailedScheduling 0/1 nodes are available: 1 Insufficient cpu.",
}


@pytest.mark.parametrize("reason", sorted(LAST_EVENTS))
def test_each_reason_stops_the_apply_naming_workload_reason_and_last_event(
        reason: str, bundle: Bundle, cluster: Cluster, emulator: RunningEmulator) -> None:
    emulator.state.settings.failing = {"auth/dex": reason}

    with pytest.raises(WorkloadFailed) as caught:
        apply(cluster, bundle, AT_ONCE, "dex")

    message = str(caught.value)
    assert f"Deployment auth/dex: pod dex-5d8f7c9b4-emu01: {reason}" in message
    assert f"last event: {LAST_EVENTS[reason]}" in message
    assert caught.value.exit_code == 1
    assert "kubectl" in message  # and where to look next


def test_a_pod_that_recovers_within_the_grace_period_does_not_fail(
        bundle: Bundle, cluster: Cluster, emulator: RunningEmulator) -> None:
    emulator.state.settings.failing = {"auth/dex": "ImagePullBackOff"}
    emulator.state.settings.failing_for = 0.5  # the registry answers on the kubelet's retry

    apply(cluster, bundle, WaitSettings(timeout=60, interval=0.02, failure_grace=30), "dex")

    with emulator.lock:
        shown = emulator.state.pod_states[("", "pods", "auth", "dex-5d8f7c9b4-emu01")]
    assert shown == "Running"
    pod = cluster.get("v1", "Pod", "dex-5d8f7c9b4-emu01", "auth")
    assert pod is not None and pod["status"]["containerStatuses"][0]["ready"] is True
    reasons = [e["reason"] for e in cluster.list("v1", "Event", "auth")]
    assert "BackOff" in reasons and reasons[-1] == "Started"  # it did fail, then it started


def test_a_crash_loop_counts_only_after_its_restarts(
        bundle: Bundle, cluster: Cluster, emulator: RunningEmulator) -> None:
    emulator.state.settings.failing = {"auth/dex": "CrashLoopBackOff"}
    emulator.state.settings.crash_restarts = 2  # still starting, perhaps waiting for a database

    with pytest.raises(WaitTimeout, match="CrashLoopBackOff"):
        apply(cluster, bundle, WaitSettings(timeout=0.5, interval=0.02, failure_grace=0,
                                            crash_restarts=3), "dex")


def test_an_unschedulable_pod_an_autoscaler_makes_a_node_for_is_waited_for(
        bundle: Bundle, cluster: Cluster, emulator: RunningEmulator) -> None:
    emulator.state.settings.failing = {"auth/dex": "Unschedulable"}
    with pytest.raises(WorkloadFailed, match="no autoscaler is making one"):
        apply(cluster, bundle, AT_ONCE, "dex")
    # Karpenter nominates a node claim for the pod, as it records on the pod.
    cluster.apply({"apiVersion": "v1", "kind": "Event",
                   "metadata": {"name": "dex-5d8f7c9b4-emu01.karpenter", "namespace": "auth"},
                   "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": "auth",
                                      "name": "dex-5d8f7c9b4-emu01"},
                   "reason": "Nominated", "type": "Normal",
                   "message": "Pod should schedule on: nodeclaim/default-x7k2p"})

    with pytest.raises(WaitTimeout, match="Unschedulable"):
        apply(cluster, bundle, WaitSettings(timeout=0.5, interval=0.02, failure_grace=0), "dex")


def test_a_webhook_whose_deployment_cannot_start_stops_the_apply(
        bundle: Bundle, cluster: Cluster, emulator: RunningEmulator) -> None:
    emulator.state.settings.failing = {"cert-manager/cert-manager-webhook": "ImagePullBackOff"}

    with pytest.raises(WorkloadFailed, match=r"Deployment cert-manager/cert-manager-webhook: "
                                             r"pod cert-manager-webhook-\S+: ImagePullBackOff"):
        apply(cluster, bundle, AT_ONCE, "cert-manager")


def test_status_shows_the_same_reason(bundle: Bundle, cluster: Cluster,
                                      emulator: RunningEmulator) -> None:
    emulator.state.settings.failing = {"auth/dex": "CreateContainerConfigError"}
    with pytest.raises(WorkloadFailed):
        apply(cluster, bundle, AT_ONCE, "dex")

    [row] = platform_status(cluster, files_of(bundle, "dex"))

    assert row.state == "failed"
    assert row.reasons == ['Deployment auth/dex: pod dex-5d8f7c9b4-emu01: '
                           'CreateContainerConfigError (secret "dex-oidc-client" not found)']

