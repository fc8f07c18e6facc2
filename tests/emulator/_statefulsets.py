"""The StatefulSet controller's pods and claims (`Settings.statefulset_pods`).

As https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/ describes it:
each StatefulSet `web` gets pods `web-0` ... `web-<replicas-1>` (the template's labels plus
`statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index`, owned by the
StatefulSet as their controller, blocking its foreground deletion), and for each of its
`volumeClaimTemplates` a PersistentVolumeClaim `<claim>-web-<i>` labelled with the
selector's matchLabels, which the StatefulSet does not own unless its
`persistentVolumeClaimRetentionPolicy.whenDeleted` is Delete
(https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#persistentvolumeclaim-retention).
Pods above `replicas` are deleted, their claims kept (whenScaled Retain). A pod of the
StatefulSet's name that no controller owns and whose labels match the selector is adopted
(ownerReference set again), as after a StatefulSet was deleted with propagation Orphan and
made anew (https://kubernetes.io/docs/tasks/run-application/delete-stateful-set/).
Simpler: pods are Running at once, in any order (no OrderedReady wait); claims stay Pending.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._state import ApiState, Key, Stored


def run_stateful_sets(state: ApiState) -> None:
    """Make each StatefulSet's pods and claims, adopt its orphans, remove pods scaled away."""
    for key in sorted(state.objects):
        if key[:2] != ("apps", "statefulsets"):
            continue
        stored = state.objects[key]
        if f"{key[2]}/{key[3]}" in state.settings.failing:
            continue  # _kubelet gives it its one failing pod
        replicas = int((stored.obj.get("spec") or {}).get("replicas", 1))
        for index in range(replicas):
            _claims(state, key, stored, index)
            _pod(state, key, stored, index)
        _scale_down(state, key, stored, replicas)


def _reference(stored: Stored) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "name": stored.obj["metadata"]["name"], "uid": stored.obj["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def _pod(state: ApiState, key: Key, stored: Stored, index: int) -> None:
    name = f"{key[3]}-{index}"
    pods = state.kind("", "pods")
    existing = state.objects.get(("", "pods", key[2], name))
    spec = stored.obj.get("spec") or {}
    if existing is not None:
        _adopt(state, existing.obj, stored, spec.get("selector"))
        return
    template = spec.get("template") or {}
    labels = {**((template.get("metadata") or {}).get("labels") or {}),
              "statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index":
                  str(index)}
    pod_spec = copy.deepcopy(template.get("spec") or {"containers": []})
    pod_spec.update(hostname=name, subdomain=spec.get("serviceName", ""))
    volumes = pod_spec.setdefault("volumes", [])
    for claim in spec.get("volumeClaimTemplates") or []:
        claim_name = claim["metadata"]["name"]
        volumes.append({"name": claim_name, "persistentVolumeClaim": {
            "claimName": f"{claim_name}-{name}"}})
    state.create(pods, key[2], {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": key[2], "labels": labels,
                     "ownerReferences": [_reference(stored)]},
        "spec": pod_spec}, dry_run=False)
    state.report_status(("", "pods", key[2], name), {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"}]})


def _claims(state: ApiState, key: Key, stored: Stored, index: int) -> None:
    spec = stored.obj.get("spec") or {}
    owned = (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get(
        "whenDeleted") == "Delete"
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    for template in spec.get("volumeClaimTemplates") or []:
        metadata = template.get("metadata") or {}
        name = f"{metadata['name']}-{key[3]}-{index}"
        if ("", "persistentvolumeclaims", key[2], name) in state.objects:
            continue
        state.create(state.kind("", "persistentvolumeclaims"), key[2], {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": key[2],
                         "labels": {**(metadata.get("labels") or {}), **selector},
                         **({"ownerReferences": [_reference(stored)]} if owned else {})},
            "spec": copy.deepcopy(template.get("spec") or {})}, dry_run=False)
        state.report_status(("", "persistentvolumeclaims", key[2], name), {"phase": "Pending"})


def _adopt(state: ApiState, pod: dict[str, Any], stored: Stored,
           selector: dict[str, Any] | None) -> None:
    """Set the StatefulSet as the controller of an orphan whose labels it selects."""
    references = pod["metadata"].get("ownerReferences") or []
    if any(r.get("controller") for r in references):
        return
    labels = pod["metadata"].get("labels") or {}
    wanted = (selector or {}).get("matchLabels") or {}
    if not wanted or any(labels.get(k) != v for k, v in wanted.items()):
        return
    state.merge_patch(state.kind("", "pods"), pod["metadata"]["namespace"],
                      pod["metadata"]["name"],
                      {"metadata": {"ownerReferences": [*references, _reference(stored)]}},
                      dry_run=False)


def _scale_down(state: ApiState, key: Key, stored: Stored, replicas: int) -> None:
    uid = stored.obj["metadata"]["uid"]
    prefix = f"{key[3]}-"
    for pod_key in [k for k in state.objects if k[:3] == ("", "pods", key[2])]:
        name = pod_key[3]
        index = name[len(prefix):]
        owners = state.objects[pod_key].obj["metadata"].get("ownerReferences") or []
        if name.startswith(prefix) and index.isdigit() and int(index) >= replicas and \
                any(r.get("uid") == uid for r in owners):
            state.delete(state.kind("", "pods"), key[2], name, dry_run=False)
