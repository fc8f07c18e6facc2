"""doctor's sidecar-version rule on a copy of a real 26.03 install (istiod 1.28.0)."""

from __future__ import annotations

from typing import Any

from tests.health.conftest import Site

PROFILE = "kubeflow-user-example-com"
OLD = "gcr.io/istio-release/proxyv2:1.26.1"


def pod_with_sidecar(site: Site, namespace: str, name: str, proxy: str, *,
                     labels: dict[str, str] | None = None, native: bool = False,
                     phase: str = "Running") -> None:
    """A running pod whose Istio proxy is `proxy` (an init container with native sidecars)."""
    sidecar: dict[str, Any] = {"name": "istio-proxy", "image": proxy}
    main = {"name": "main", "image": "docker.io/library/busybox:1.36"}
    spec: dict[str, Any] = {"nodeName": "emulated-node-1", "containers": [main]}
    if native:
        spec["initContainers"] = [{**sidecar, "restartPolicy": "Always"}]
    else:
        spec["containers"].append(sidecar)
    site.cluster.create({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {},
                     "annotations": {"sidecar.istio.io/status": '{"containers":["istio-proxy"]}'}},
        "spec": spec})
    with site.emulator.lock:
        site.emulator.state.report_status(("", "pods", namespace, name), {"phase": phase})


def selector_of(site: Site, namespace: str, kind: str, name: str) -> dict[str, str]:
    live = site.cluster.get("apps/v1", kind, name, namespace)
    assert live is not None
    return dict(live["spec"]["selector"]["matchLabels"])


def test_sidecars_older_than_istiod_name_their_workloads_and_the_restart(site: Site) -> None:
    istiod = site.cluster.get("apps/v1", "Deployment", "istiod", "istio-system")
    assert istiod is not None
    assert istiod["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/pilot:1.28.0")
    pod_with_sidecar(site, "kubeflow", "ml-pipeline-7d9c-abcde", OLD,
                     labels=selector_of(site, "kubeflow", "Deployment", "ml-pipeline"))
    pod_with_sidecar(site, PROFILE, "nb-0", OLD, native=True)  # no workload of its own here
    report = site.doctor("sidecar-version")
    assert report.not_run == []
    platform, profile = report.findings
    assert (platform.rule, platform.severity) == ("sidecar-version", "warning")
    assert platform.summary == ("1 workload(s) in kubeflow run Istio sidecars older than "
                                "istiod 1.28.0")
    assert platform.evidence == (
        f"deployment/ml-pipeline: istio-proxy {OLD} (pod ml-pipeline-7d9c-abcde)",)
    assert platform.fix.startswith("kubectl -n kubeflow rollout restart deployment/ml-pipeline")
    assert "--restart-user-workloads" not in platform.fix
    assert profile.evidence == (f"pod/nb-0: istio-proxy {OLD} (pod nb-0)",)
    assert profile.fix.startswith(f"kubectl -n {PROFILE} delete pod nb-0")
    assert "kfops apply -f platform.yaml --restart-user-workloads" in profile.fix


def test_sidecars_at_or_above_istiod_are_fine(site: Site) -> None:
    # 26.03's injector asks for proxyv2 1.29.0 while istiod runs 1.28.0: newer is no problem
    pod_with_sidecar(site, "kubeflow", "ml-pipeline-7d9c-abcde",
                     "gcr.io/istio-release/proxyv2:1.29.0",
                     labels=selector_of(site, "kubeflow", "Deployment", "ml-pipeline"))
    pod_with_sidecar(site, PROFILE, "nb-0", "gcr.io/istio-release/proxyv2:1.28.0", native=True)
    pod_with_sidecar(site, PROFILE, "run-step-1", OLD, phase="Succeeded")  # finished: left be
    report = site.doctor("sidecar-version")
    assert (report.findings, report.not_run) == ([], [])


def test_a_healthy_install_gives_no_finding_of_any_rule(site: Site) -> None:
    report = site.doctor()
    assert (report.findings, report.not_run, report.unreadable) == ([], [], ())
