"""Rules about what the API server itself needs: CRDs served, admission webhooks answering."""

from __future__ import annotations

from typing import Any

from kfops.cluster import INJECT_ANNOTATIONS, builtin_kind

from ._facts import CRD_KIND, InstallFacts
from ._findings import Finding
from ._snapshot import Snapshot

CRD_API = "apiextensions.k8s.io/v1"
WEBHOOK_API = "admissionregistration.k8s.io/v1"
WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
REAPPLY = "kfops apply -f platform.yaml (it applies CRDs first and waits until they are served)"


def missing_crds(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """CRDs the install needs that are missing or not Established."""
    live = {str(c["metadata"]["name"]): c for c in snapshot.list(CRD_API, CRD_KIND)}
    by_kind = {(str((c.get("spec") or {}).get("group")),
                str(((c.get("spec") or {}).get("names") or {}).get("kind"))): c
               for c in live.values()}
    findings = []
    for name in sorted(facts.crds):
        crd = live.get(name)
        findings += [_missing(name)] if crd is None else _not_established(crd)
    for api_version, kind in sorted(facts.kinds):
        group = api_version.rpartition("/")[0]
        if kind == CRD_KIND or builtin_kind(api_version, kind) or (group, kind) in by_kind:
            continue
        findings.append(Finding(
            "crds", "failure", f"no CRD serves {kind} ({api_version})",
            (f"the install applied {kind} objects; no CustomResourceDefinition of group "
             f"{group or 'core'} defines kind {kind}",),
            REAPPLY))
    return findings


def _missing(name: str) -> Finding:
    return Finding("crds", "failure", f"CRD {name} is missing",
                   (f"CustomResourceDefinition {name} is in the bundle but not on the cluster",),
                   REAPPLY)


def _not_established(crd: dict[str, Any]) -> list[Finding]:
    name = str(crd["metadata"]["name"])
    conditions = {c.get("type"): c for c in (crd.get("status") or {}).get("conditions") or []}
    if (conditions.get("Established") or {}).get("status") == "True":
        return []
    said = [f"{kind}={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}".strip()
            for kind, c in conditions.items()] or ["no conditions reported yet"]
    return [Finding("crds", "failure", f"CRD {name} is not Established",
                    tuple(f"CustomResourceDefinition {name}: {line}" for line in said),
                    f"kubectl get crd {name} -o yaml (a conflicting name shows in NamesAccepted)")]


def webhooks_not_ready(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """Webhooks whose Service has no ready endpoint, or whose injected caBundle is empty."""
    findings = []
    for kind in WEBHOOK_KINDS:
        for configuration in snapshot.list(WEBHOOK_API, kind):
            findings += _configuration(snapshot, kind, configuration)
    return findings


def _configuration(snapshot: Snapshot, kind: str,
                   configuration: dict[str, Any]) -> list[Finding]:
    name = str(configuration["metadata"]["name"])
    annotations = configuration["metadata"].get("annotations") or {}
    injected = next((annotations[k] for k in INJECT_ANNOTATIONS if k in annotations), None)
    findings = []
    unready: set[tuple[str, str]] = set()
    for hook in configuration.get("webhooks") or []:
        client = hook.get("clientConfig") or {}
        service = client.get("service")
        if injected and not client.get("caBundle"):
            findings.append(Finding(
                "webhooks", "failure",
                f"{kind} {name}: webhook {hook.get('name')} has no caBundle",
                (f"{kind} {name} asks cert-manager to inject the CA of {injected}, and its "
                 "caBundle is empty: the API server cannot verify the webhook "
                 "(x509: certificate signed by unknown authority)",),
                "check that cert-manager's cainjector runs and that the Certificate is Ready: "
                "kubectl -n cert-manager logs deploy/cert-manager-cainjector; "
                "kubectl get certificate -A"))
        if not service:
            continue
        where = (str(service.get("namespace")), str(service.get("name")))
        if where in unready or _has_ready_endpoint(snapshot, *where):
            continue
        unready.add(where)
        findings.append(Finding(
            "webhooks", "failure",
            f"webhook {hook.get('name')} is not ready: Service {where[0]}/{where[1]} has no "
            "ready endpoint",
            (f"{kind} {name} calls Service {where[0]}/{where[1]}, which has no ready endpoint: "
             "creating or changing the objects it intercepts fails with 'failed calling "
             "webhook ... connection refused' or 'no endpoints available'",),
            f"kubectl -n {where[0]} get pods,endpointslices -l "
            f"kubernetes.io/service-name={where[1]}; see the workload-unavailable findings"))
    return findings


def _has_ready_endpoint(snapshot: Snapshot, namespace: str, service: str) -> bool:
    # EndpointSlices name their Service in this label
    # (https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/#ownership).
    for endpoint_slice in snapshot.in_namespace("discovery.k8s.io/v1", "EndpointSlice",
                                                namespace):
        labels = endpoint_slice["metadata"].get("labels") or {}
        if labels.get("kubernetes.io/service-name") != service:
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            # An unset `ready` means ready (the API reference of EndpointConditions).
            if (endpoint.get("conditions") or {}).get("ready", True) is not False:
                return True
    return False
