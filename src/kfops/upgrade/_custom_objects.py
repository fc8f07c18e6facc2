"""The Kubeflow custom objects of an install: instances of the CRDs it applied.

The CRDs are members of the install's ApplySet (they carry its part-of label).
Each kind is read with one list over every namespace. An object another object
owns (`ownerReferences`: a Trial of an Experiment, a Workflow of a
ScheduledWorkflow, a CertificateRequest of a Certificate) is left out: its
controller makes it again from its owner, and a copy restored beside the new
one would run twice.

Fields the API server sets (uid, resourceVersion, generation,
creationTimestamp, managedFields, deletion marks) are removed: they describe
one stored copy and are refused or ignored on create. `status` is kept, as the
record of what the object was (a finished run, an experiment's best trial); a
create cannot set it (the status subresource ignores it), so restore drops it
and uses it only to tell finished runs, which it does not start again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kfops.cluster import Cluster
from kfops.objects import PART_OF

CRD_API = "apiextensions.k8s.io/v1"
SERVER_SET = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
              "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")
FINISHED_PHASES = frozenset({"Succeeded", "Failed", "Error", "Completed"})
FINISHED_CONDITIONS = frozenset({"Succeeded", "Failed", "Complete", "Completed"})


@dataclass(frozen=True)
class CustomKind:
    """A kind one of the install's CRDs defines, in the version its objects are read."""

    group: str
    version: str
    kind: str
    namespaced: bool
    crd: str

    @property
    def api_version(self) -> str:
        """`group/version`."""
        return f"{self.group}/{self.version}"

    @property
    def key(self) -> str:
        """`Kind.group`, as ApplySets name group-kinds (and the backup names its files)."""
        return f"{self.kind}.{self.group}"


@dataclass(frozen=True)
class KindObjects:
    """The objects of one kind worth saving, and how many were left out as owned."""

    kind: CustomKind
    objects: list[dict[str, Any]]
    owned: int


def install_kinds(cluster: Cluster, applyset_ids: frozenset[str]) -> list[CustomKind]:
    """The kinds of the CRDs the install applied (members under any of its ApplySet ids),
    each in its storage version (what every stored object converts from without loss)."""
    crds = [crd for crd in cluster.list(CRD_API, "CustomResourceDefinition")
            if (crd["metadata"].get("labels") or {}).get(PART_OF) in applyset_ids]
    cluster.learn_crds(crds)  # so each kind is listed without reading the CRDs again
    kinds = [kind for kind in map(_kind_of, crds) if kind is not None]
    return sorted(kinds, key=lambda k: k.key)


def _kind_of(crd: dict[str, Any]) -> CustomKind | None:
    spec = crd.get("spec") or {}
    served = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not served:
        return None
    version = next((v for v in served if v.get("storage")), served[0])
    return CustomKind(str(spec["group"]), str(version["name"]), str(spec["names"]["kind"]),
                      spec.get("scope") == "Namespaced", str(crd["metadata"]["name"]))


def read_kind(cluster: Cluster, kind: CustomKind) -> KindObjects:
    """Every object of `kind` in every namespace (one list), stripped; owned ones counted."""
    found = cluster.list(kind.api_version, kind.kind)
    kept = [strip(obj) for obj in found if not obj["metadata"].get("ownerReferences")]
    return KindObjects(kind, sorted(kept, key=_place), len(found) - len(kept))


def _place(obj: dict[str, Any]) -> tuple[str, str]:
    metadata = obj["metadata"]
    return str(metadata.get("namespace") or ""), str(metadata["name"])


def strip(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` without the fields the API server sets on each stored copy (status kept)."""
    metadata = {k: v for k, v in obj["metadata"].items() if k not in SERVER_SET}
    return {**obj, "metadata": metadata}


def finished(obj: dict[str, Any]) -> bool:
    """Whether the saved status says the object is a run that has ended (a Workflow
    Succeeded, an Experiment or training job with a True Succeeded/Failed condition):
    created again it would run again."""
    status = obj.get("status") or {}
    if not isinstance(status, dict):
        return False
    if status.get("phase") in FINISHED_PHASES:
        return True
    return any(isinstance(c, dict) and c.get("type") in FINISHED_CONDITIONS
               and c.get("status") == "True" for c in status.get("conditions") or [])


def for_create(obj: dict[str, Any]) -> dict[str, Any]:
    """The saved object as a create sends it: no status (a create cannot set it)."""
    return {k: v for k, v in strip(obj).items() if k != "status"}
