"""What users own, counted before an upgrade and after it: the counts must be equal."""

from __future__ import annotations

from dataclasses import dataclass

from kfops.cluster import Cluster

COUNTED: tuple[tuple[str, str, str], ...] = (
    ("kubeflow.org/v1", "Profile", "profiles"),
    ("kubeflow.org/v1", "Notebook", "notebooks"),
    ("kubeflow.org/v1alpha1", "PodDefault", "pod defaults"),
    ("argoproj.io/v1alpha1", "Workflow", "pipeline runs"),
    ("kubeflow.org/v1beta1", "ScheduledWorkflow", "recurring runs"),
    ("kubeflow.org/v1beta1", "Experiment", "Katib experiments"),
    ("serving.kserve.io/v1beta1", "InferenceService", "inference services"),
    ("v1", "PersistentVolumeClaim", "volume claims"),
)
"""(apiVersion, kind, what) of the objects whose number an upgrade must not change."""


@dataclass(frozen=True)
class Counts:
    """How many of each counted kind the cluster holds (kinds it does not serve left out)."""

    by_kind: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, int]:
        """`what: count`."""
        return dict(self.by_kind)


def count_user_objects(cluster: Cluster) -> Counts:
    """The counts of every kind in COUNTED the cluster serves (one list per kind)."""
    found = []
    for api_version, kind, what in COUNTED:
        if cluster.serves(api_version, kind):
            found.append((what, len(cluster.list(api_version, kind))))
    return Counts(tuple(found))


def lost(before: Counts, after: Counts) -> list[str]:
    """Each kind counted before that has fewer objects after (`what: before → after`)."""
    now = after.as_dict()
    return [f"{what}: {count} → {now.get(what, 0)}" for what, count in before.by_kind
            if now.get(what, 0) < count]
