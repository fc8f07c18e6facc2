"""Fields the API server refuses to change: an object whose new version changes one is
deleted and created again (never a claim: its data would go with it).

- Deployment, ReplicaSet, DaemonSet `spec.selector`: immutable in apps/v1
  (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#label-selector-updates,
  https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/#pod-selector).
- StatefulSet: only replicas, ordinals, template, updateStrategy,
  persistentVolumeClaimRetentionPolicy, minReadySeconds and revisionHistoryLimit may
  change (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/); it is
  deleted with its pods orphaned, so they and their claims stay and the new one adopts them.
- Job `spec.selector` and `spec.template`
  (https://kubernetes.io/docs/concepts/workloads/controllers/job/#specifying-your-own-pod-selector).
- RoleBinding and ClusterRoleBinding `roleRef`: "After you create a binding, you cannot
  change the Role or ClusterRole that it refers to"
  (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#clusterrolebinding-example).
- Service `spec.clusterIP` once set
  (https://kubernetes.io/docs/concepts/services-networking/service/#choosing-your-own-ip-address).
- PersistentVolumeClaim spec but its requested size
  (https://kubernetes.io/docs/concepts/storage/persistent-volumes/#expanding-persistent-volumes-claims):
  never recreated; kfops stops instead.
- ConfigMaps and Secrets marked `immutable: true`
  (https://kubernetes.io/docs/concepts/configuration/configmap/#configmap-immutable).

Only fields the new object sets are compared, so what the API server filled in
(a Service's allocated clusterIP, a template's defaults) is never a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_FIELDS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec.selector",),
    "ReplicaSet": ("spec.selector",),
    "DaemonSet": ("spec.selector",),
    "StatefulSet": ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates",
                    "spec.podManagementPolicy"),
    "Job": ("spec.selector", "spec.template"),
    "RoleBinding": ("roleRef",),
    "ClusterRoleBinding": ("roleRef",),
    "Service": ("spec.clusterIP",),
    "PersistentVolumeClaim": ("spec.storageClassName", "spec.accessModes", "spec.volumeName",
                              "spec.dataSource", "spec.dataSourceRef", "spec.volumeMode"),
}

_APPLYSET_LABELS = ("applyset.kubernetes.io/", "kfops.io/")


@dataclass(frozen=True)
class ImmutableChange:
    """A field the new object changes that the API server does not let change."""

    obj: dict[str, Any]
    """The new object."""
    field: str

    @property
    def keeps_data(self) -> bool:
        """Whether deleting the object would lose data (a claim): kfops never does."""
        return bool(self.obj["kind"] == "PersistentVolumeClaim")

    @property
    def orphans(self) -> bool:
        """Whether its pods stay while it is recreated (a StatefulSet's, with their claims)."""
        return bool(self.obj["kind"] == "StatefulSet")


def immutable_changes(live: dict[str, Any], new: dict[str, Any]) -> list[ImmutableChange]:
    """The immutable fields `new` changes in `live` (same object, both as dicts)."""
    found = [ImmutableChange(new, path) for path in _FIELDS.get(str(new["kind"]), ())
             if _changes(_dig(live, path), _dig(new, path))]
    if new["kind"] in ("ConfigMap", "Secret") and live.get("immutable") and (
            any(live.get(key) != new.get(key) for key in ("data", "binaryData"))
            or not new.get("immutable")):
        found.append(ImmutableChange(new, "data (immutable: true)"))
    return found


def _dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _changes(live: Any, new: Any) -> bool:
    """Whether `new` sets something `live` does not hold (fields new leaves out are the
    server's to fill)."""
    if new is None:
        return False
    if isinstance(new, dict):
        if not isinstance(live, dict):
            return True
        return any(_changes(live.get(key), value) for key, value in new.items()
                   if not _is_applyset_label(key))
    if isinstance(new, list):
        if not isinstance(live, list) or len(live) != len(new):
            return True
        return any(_changes(a, b) for a, b in zip(live, new, strict=True))
    return bool(live != new)


def _is_applyset_label(key: str) -> bool:
    return key.startswith(_APPLYSET_LABELS)
