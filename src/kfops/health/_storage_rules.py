"""Rules about the volumes of the platform and of the profiles (PersistentVolumeClaims)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

from kfops.catalog import DEFAULT_CLASS_ANNOTATION
from kfops.cluster import last_event

from ._facts import InstallFacts
from ._findings import Finding
from ._snapshot import Snapshot, parse_time

STORAGE_API = "storage.k8s.io/v1"
PROVISION_GRACE = timedelta(minutes=5)
"""How long a provisioner may take to make a claim's volume before doctor warns."""


def pvc_pending(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """Claims of the platform and the profiles left Pending: no default StorageClass, a class
    that does not exist, or a provisioner that does not make the volume."""
    namespaces = facts.namespaces | snapshot.profile_namespaces()
    pending = [c for c in snapshot.list("v1", "PersistentVolumeClaim")
               if c["metadata"].get("namespace") in namespaces
               and (c.get("status") or {}).get("phase") == "Pending"]
    if not pending:
        return []
    classes = {str(c["metadata"]["name"]): c for c in snapshot.list(STORAGE_API, "StorageClass")}
    unclassed, unknown, slow = [], defaultdict(list), []
    for claim in pending:
        wanted = (claim.get("spec") or {}).get("storageClassName")
        if wanted is None:
            # The DefaultStorageClass admission plugin gives a claim the default class, and
            # since Kubernetes 1.28 a class marked default later is given to claims left
            # without one: without a default, nothing ever provisions them
            # (https://kubernetes.io/docs/concepts/storage/persistent-volumes/#class-1).
            if not _defaults(classes):
                unclassed.append(claim)
        elif wanted and wanted not in classes:
            unknown[str(wanted)].append(claim)
        elif wanted and _waits_too_long(snapshot, claim, classes[wanted]):
            slow.append(claim)
    findings = []
    if unclassed:
        findings.append(_no_default(snapshot, unclassed, classes))
    findings += [_unknown_class(snapshot, name, claims, classes)
                 for name, claims in sorted(unknown.items())]
    findings += [_not_provisioned(snapshot, claim, classes) for claim in slow]
    return findings


def _no_default(snapshot: Snapshot, claims: list[dict[str, Any]],
                classes: dict[str, dict[str, Any]]) -> Finding:
    # The PersistentVolume controller's event on such a claim (a Normal event, FailedBinding):
    # "no persistent volumes available for this claim and no storage class is set"
    # (e.g. https://github.com/kubevious/helm/issues/6).
    evidence = [_claim_line(snapshot, c) for c in claims]
    evidence.append("StorageClasses: " + (", ".join(sorted(classes)) + " (none marked default)"
                                          if classes else "none"))
    mark = _mark_default(min(classes) if classes else "<class>")
    fix = ("mark a StorageClass default (claims left without a class then get it): "
           f"{mark}; spec.storage.defaultStorageClass in platform.yaml names the class kfops "
           "check expects; with no provisioner at all, spec.storage.nfs (target onprem) "
           "installs one, then kfops apply -f platform.yaml")
    return Finding("pvc-pending", "failure",
                   "PVCs stay Pending without a default StorageClass", tuple(evidence), fix)


def _unknown_class(snapshot: Snapshot, name: str, claims: list[dict[str, Any]],
                   classes: dict[str, dict[str, Any]]) -> Finding:
    # The PersistentVolume controller's Warning ProvisioningFailed event:
    # `storageclass.storage.k8s.io "fast" not found`
    # (e.g. https://github.com/kubernetes/kubernetes/issues/81714).
    evidence = [_claim_line(snapshot, c) for c in claims]
    evidence.append("StorageClasses: " + (", ".join(sorted(classes)) or "none"))
    fix = (f"create StorageClass {name} (a provisioner's class), or give the claims an existing "
           "class (storageClassName is immutable: delete and create them again); "
           "spec.storage.defaultStorageClass in platform.yaml names the class kfops expects")
    return Finding("pvc-pending", "failure",
                   f"PVCs stay Pending: StorageClass {name} does not exist", tuple(evidence), fix)


def _not_provisioned(snapshot: Snapshot, claim: dict[str, Any],
                     classes: dict[str, dict[str, Any]]) -> Finding:
    wanted = str(claim["spec"]["storageClassName"])
    provisioner = str(classes[wanted].get("provisioner") or "")
    namespace, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
    return Finding(
        "pvc-pending", "warning",
        f"PVC {namespace}/{name} is Pending: StorageClass {wanted} has not provisioned it",
        (_claim_line(snapshot, claim), f"StorageClass {wanted}: provisioner {provisioner}"),
        f"check the provisioner {provisioner} runs (its pods and logs): kubectl -n {namespace} "
        f"describe pvc {name}")


def _waits_too_long(snapshot: Snapshot, claim: dict[str, Any],
                    storage_class: dict[str, Any]) -> bool:
    """Whether an existing class should have provisioned the claim by now.

    A WaitForFirstConsumer class provisions only once a pod uses the claim
    (https://kubernetes.io/docs/concepts/storage/storage-classes/#volume-binding-mode): Pending
    until then is normal.
    """
    if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and \
            not _consumers(snapshot, claim):
        return False
    created = parse_time(claim["metadata"].get("creationTimestamp"))
    return created is not None and snapshot.now - created >= PROVISION_GRACE


def _consumers(snapshot: Snapshot, claim: dict[str, Any]) -> list[str]:
    namespace, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
    return [str(p["metadata"]["name"]) for p in snapshot.in_namespace("v1", "Pod", namespace)
            if any((v.get("persistentVolumeClaim") or {}).get("claimName") == name
                   for v in (p.get("spec") or {}).get("volumes") or [])]


def _claim_line(snapshot: Snapshot, claim: dict[str, Any]) -> str:
    namespace, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
    wanted = (claim.get("spec") or {}).get("storageClassName")
    line = f"PVC {namespace}/{name} Pending, storageClassName: " + \
        ("unset" if wanted is None else f'"{wanted}"')
    events = [e for e in snapshot.in_namespace("v1", "Event", namespace)
              if (e.get("involvedObject") or {}).get("kind") == "PersistentVolumeClaim"]
    said = last_event(events, {name})
    return f"{line}; last event: {said}" if said else line


def _mark_default(name: str) -> str:
    """The command that makes a StorageClass the cluster's default."""
    patch = json.dumps({"metadata": {"annotations": {DEFAULT_CLASS_ANNOTATION: "true"}}},
                       separators=(",", ":"))
    return f"kubectl patch storageclass {name} -p '{patch}'"


def _defaults(classes: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(name for name, c in classes.items()
                  if str(((c.get("metadata") or {}).get("annotations") or {})
                         .get(DEFAULT_CLASS_ANNOTATION, "")).lower() == "true")
