"""Patches and extra manifests through a user's flows on the emulated cluster: apply, plan after
apply, re-apply, then a day-2 edit that drops them (extra objects pruned, patched fields back)."""

from __future__ import annotations

from kfops.cluster import Cluster
from kfops.config import load_platform
from kfops.operations import changes, plan_platform
from kfops.render import RenderOptions
from tests.conftest import PlatformWriter
from tests.emulator import RunningEmulator

from .conftest import apply

CUSTOM = """\
  patches:
  - target: {group: apps, kind: Deployment, name: ml-pipeline, namespace: kubeflow}
    patch: |
      spec: {template: {spec: {nodeSelector: {pool: pipelines}}}}
  extraManifests: [company.yaml]
"""
COMPANY = """\
apiVersion: v1
kind: Namespace
metadata: {name: company-tools}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: company-egress, namespace: kubeflow}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {}}]}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: contacts, namespace: company-tools}
data: {oncall: ops@example.com}
"""
EXTRA = ["ConfigMap company-tools/contacts", "Namespace company-tools",
         "NetworkPolicy kubeflow/company-egress"]


def _node_selector(cluster: Cluster) -> object:
    live = cluster.get("apps/v1", "Deployment", "ml-pipeline", "kubeflow")
    assert live is not None
    return live["spec"]["template"]["spec"].get("nodeSelector")


def test_customized_platform_applies_converges_and_prunes_its_extras(
        platform_file: PlatformWriter, cluster: Cluster, emulator: RunningEmulator) -> None:
    path = platform_file(spec_extra=CUSTOM)
    (path.parent / "company.yaml").write_text(COMPANY)

    first = apply(load_platform(path), cluster)

    assert set(EXTRA) <= set(first.summary.created)
    assert _node_selector(cluster) == {"pool": "pipelines"}
    assert cluster.get("v1", "ConfigMap", "contacts", "company-tools") is not None
    assert changes(plan_platform(load_platform(path), cluster,
                                 RenderOptions(offline=True)).entries) == 0
    before = len(emulator.writes())
    apply(load_platform(path), cluster)
    assert emulator.writes()[before:] == []

    platform_file()  # the day-2 edit: no patch, no extra manifest
    result = apply(load_platform(path), cluster)

    assert sorted(result.summary.pruned) == EXTRA
    assert cluster.get("v1", "ConfigMap", "contacts", "company-tools") is None
    # Server-side apply drops the field kfops no longer sends.
    assert _node_selector(cluster) is None
