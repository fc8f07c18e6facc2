"""Gates an upgrade passes before it writes anything.

Each gate has a name `--force-gate` takes, says what it found and what to do. Work in
progress is counted from the custom objects that hold it, one list per kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kfops.catalog import supported_kubernetes, version_numbers
from kfops.cluster import Cluster, crd_instances

KUBERNETES = "kubernetes-version"
HEALTHY = "healthy"
RUNNING_WORK = "running-work"
REMOVED_CRDS = "removed-crd-instances"
GATES = (KUBERNETES, HEALTHY, RUNNING_WORK, REMOVED_CRDS)
"""Every gate, in the order they are checked."""

_LISTED = 5
"""Objects named per gate; the rest are counted."""


@dataclass(frozen=True)
class Gate:
    """One gate's verdict: passed, or what blocks the upgrade and what to do."""

    name: str
    passed: bool
    summary: str
    evidence: tuple[str, ...] = ()
    fix: str = ""
    forced: bool = False


@dataclass(frozen=True)
class _Work:
    """A kind of custom object that is work in progress until its status says it finished."""

    api_version: str
    kind: str
    what: str
    finished: tuple[str, ...] = ("Succeeded", "Failed")
    """Condition types that, when True, mean it finished."""
    phase_done: tuple[str, ...] = ()
    """Or: status.phase values that mean it finished."""
    scheduled: bool = False
    """A schedule (counted while `spec.enabled`), not a run."""


_TRAINING_V1 = ("PyTorchJob", "TFJob", "MPIJob", "JAXJob", "PaddleJob", "XGBoostJob")
WORK: tuple[_Work, ...] = (
    # Kubeflow Pipelines runs are Argo Workflows; recurring runs are ScheduledWorkflows.
    _Work("argoproj.io/v1alpha1", "Workflow", "pipeline runs",
          phase_done=("Succeeded", "Failed", "Error")),
    _Work("kubeflow.org/v1beta1", "ScheduledWorkflow", "recurring pipeline runs",
          scheduled=True),
    _Work("kubeflow.org/v1beta1", "Experiment", "Katib experiments"),
    *(_Work("kubeflow.org/v1", kind, "training jobs") for kind in _TRAINING_V1),
    _Work("trainer.kubeflow.org/v1alpha1", "TrainJob", "training jobs",
          finished=("Complete", "Failed")),
    _Work("sparkoperator.k8s.io/v1beta2", "SparkApplication", "Spark applications",
          finished=()),
)
"""What counts as running or scheduled work (status conventions of each project's API)."""


def kubernetes_gate(cluster: Cluster, target: str) -> Gate:
    """The API server meets the minimum Kubernetes version of the release being installed."""
    version = cluster.server_version()
    supported = supported_kubernetes(target)
    if supported is None:
        return Gate(KUBERNETES, True, f"Kubernetes {version}; release {target} is not in "
                                      "kfops's catalog, so its minimum is unknown")
    low = supported[0]
    if version_numbers(version)[:2] < version_numbers(low)[:2]:
        return Gate(KUBERNETES, False, f"Kubernetes {version} is older than {low}, the oldest "
                                       f"release {target} supports",
                    (f"the API server reports {version}",),
                    f"upgrade the cluster to Kubernetes {low} or newer first, then apply again")
    return Gate(KUBERNETES, True, f"Kubernetes {version} (release {target} needs {low}+)")


def health_gate(problems: Sequence[str]) -> Gate:
    """The install is healthy and matches its inventory (`problems` from its status)."""
    if not problems:
        return Gate(HEALTHY, True, "every workload of the install is available")
    return Gate(HEALTHY, False, f"{len(problems)} problem(s) in the installed platform",
                tuple(problems[:_LISTED]) + _more(problems),
                "fix them first (`kfops status` names each), so the upgrade starts from a "
                "working platform")


def running_work_gate(cluster: Cluster) -> Gate:
    """No pipeline run, recurring run, Katib experiment or training job is running."""
    found: dict[str, list[str]] = {}
    for work in WORK:
        if not cluster.serves(work.api_version, work.kind):
            continue
        for obj in cluster.list(work.api_version, work.kind):
            if _running(work, obj):
                metadata = obj["metadata"]
                found.setdefault(work.what, []).append(
                    f"{work.kind} {metadata.get('namespace', '')}/{metadata['name']}")
    if not found:
        return Gate(RUNNING_WORK, True, "no running or scheduled runs, experiments or jobs")
    counts = ", ".join(f"{len(items)} {what}" for what, items in found.items())
    names = [name for items in found.values() for name in items]
    return Gate(RUNNING_WORK, False, f"work in progress: {counts}",
                tuple(names[:_LISTED]) + _more(names),
                "wait for them to finish, or stop them (disable recurring runs in the "
                "Pipelines UI); pods restarted by the upgrade would interrupt them")


def removed_crd_gate(cluster: Cluster, crds: Iterable[str]) -> Gate:
    """No objects of a CRD the new release removes (kept on purpose with --force-gate)."""
    held = []
    for name in sorted(crds):
        crd = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        if crd is None:
            continue
        count = len(crd_instances(cluster, crd))
        if count:
            held.append(f"{count} {crd['spec']['names']['kind']} ({name})")
    if not held:
        return Gate(REMOVED_CRDS, True, "no objects of a CRD the new release removes")
    return Gate(REMOVED_CRDS, False, "the new release removes CRDs that still hold objects",
                tuple(held), f"move or delete them first; with --force-gate {REMOVED_CRDS} "
                             "they and their CRD stay (prune keeps a CRD that holds objects), "
                             "but nothing runs them any more")


def forced(gates: Sequence[Gate], names: Iterable[str]) -> list[Gate]:
    """`gates` with those named passed on purpose (marked forced)."""
    chosen = set(names)
    return [Gate(g.name, True, g.summary, g.evidence, g.fix, forced=True)
            if not g.passed and g.name in chosen else g for g in gates]


def _running(work: _Work, obj: dict[str, Any]) -> bool:
    if work.scheduled:
        return bool((obj.get("spec") or {}).get("enabled"))
    status = obj.get("status") or {}
    if work.phase_done:
        return status.get("phase") not in work.phase_done
    if work.kind == "SparkApplication":
        state = (status.get("applicationState") or {}).get("state")
        return state not in ("COMPLETED", "FAILED")
    return not any(c.get("type") in work.finished and c.get("status") == "True"
                   for c in status.get("conditions") or [])


def _more(items: Sequence[str]) -> tuple[str, ...]:
    return (f"... and {len(items) - _LISTED} more",) if len(items) > _LISTED else ()
