"""Rules about what the API server itself needs: CRDs served, admission webhooks answering."""

from __future__ import annotations

from typing import Any

from kfops.cluster import INJECT_ANNOTATIONS, builtin_kind

from ._facts import CRD_KIND, InstallFacts
from ._findings import Finding
from ._scope import APPLY
from ._snapshot import Snapshot

CRD_API = "apiextensions.k8s.io/v1"
WEBHOOK_API = "admissionregistration.k8s.io/v1"
WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
REAPPLY = f"{APPLY} (it applies CRDs first and waits until they are served)"


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
    # Groups whose CRDs the bundle carries are checked by name above; the kinds check is for
    # the rest: prerequisites installed outside kfops, or an install known by its record only.
    bundled = {name.partition(".")[2] for name in facts.crds}
    unserved: dict[tuple[str, str], list[str]] = {}
    for api_version, kind in sorted(facts.kinds):
        group = api_version.rpartition("/")[0]
        if kind == CRD_KIND or group in bundled or builtin_kind(api_version, kind) \
                or (group, kind) in by_kind:
            continue
        unserved.setdefault((group, kind), []).append(api_version)
    for (group, kind), versions in unserved.items():
        findings.append(Finding(
            "crds", "failure", f"no CRD serves {kind} ({', '.join(versions)})",
            (f"the install applied {kind} objects; no CustomResourceDefinition of group "
             f"{group or 'core'} defines kind {kind} (kubectl says: no matches for kind "
             f'"{kind}" in version "{versions[0]}")',),
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
    calling: dict[tuple[str, str], list[str]] = {}
    for kind in WEBHOOK_KINDS:
        for configuration in snapshot.list(WEBHOOK_API, kind):
            findings += _without_ca(kind, configuration)
            for hook in configuration.get("webhooks") or []:
                service = (hook.get("clientConfig") or {}).get("service")
                if service:
                    where = (str(service.get("namespace")), str(service.get("name")))
                    calling.setdefault(where, []).append(
                        f"{kind} {configuration['metadata']['name']}: webhook {hook.get('name')}")
    for (namespace, name), hooks in sorted(calling.items()):
        if not _has_ready_endpoint(snapshot, namespace, name):
            findings.append(Finding(
                "webhooks", "failure",
                f"Service {namespace}/{name} of {len(hooks)} webhook(s) has no ready endpoint",
                (*hooks, "creating or changing the objects they intercept fails with 'failed "
                         "calling webhook ... connection refused' or 'no endpoints available "
                         "for service'"),
                f"kubectl -n {namespace} get pods,endpointslices -l "
                f"kubernetes.io/service-name={name}; the workload-unavailable findings say why "
                "its pods are not ready"))
    return findings


def _without_ca(kind: str, configuration: dict[str, Any]) -> list[Finding]:
    """A finding per webhook whose CA cert-manager should have injected and has not."""
    name = str(configuration["metadata"]["name"])
    annotations = configuration["metadata"].get("annotations") or {}
    injected = next((annotations[k] for k in INJECT_ANNOTATIONS if k in annotations), None)
    if injected is None:
        # Other webhooks get their CA from their own controller (istiod, Knative's webhook)
        # as it starts; until then their workload is the one not ready.
        return []
    return [Finding(
        "webhooks", "failure", f"{kind} {name}: webhook {hook.get('name')} has no caBundle",
        (f"{kind} {name} asks cert-manager to inject the CA of {injected}, and its caBundle "
         "is empty: the API server cannot verify the webhook (x509: certificate signed by "
         "unknown authority)",),
        "check that cert-manager's cainjector runs and that the Certificate is Ready: "
        "kubectl -n cert-manager logs deploy/cert-manager-cainjector; kubectl get certificate -A")
        for hook in configuration.get("webhooks") or []
        if not (hook.get("clientConfig") or {}).get("caBundle")]


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
