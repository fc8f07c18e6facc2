"""The pods of a workload, what their containers wait for, and which of them cannot start.

A pod whose container waits with one of FAILING_REASONS, or that the scheduler
finds no node for, does not get further by itself: the kubelet keeps retrying
with a growing back-off, but the image, the command, the configuration or the
nodes have to change first
(https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-state-waiting,
https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/). `apply`'s
waits, `status` and `gpu test` all judge pods by this one list. They differ in
when they judge: `apply` stops on a reason that lasted its grace period (and a
crash loop only after its restarts, as databases start slowly), while `status`
is a snapshot and names any failing pod at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._api import Cluster

UNSCHEDULABLE = "Unschedulable"
#: Why a pod cannot become ready by itself: container waiting reasons the kubelet reports,
#: and the scheduler's Unschedulable (PodScheduled False).
FAILING_REASONS = (
    "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
    "CrashLoopBackOff", "CreateContainerConfigError", "RunContainerError", UNSCHEDULABLE,
)
IMAGE_PULL_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                      "ErrImageNeverPull")
#: Events by which an autoscaler says it is making a node for an unschedulable pod: the
#: cluster autoscaler's TriggeredScaleUp (its FAQ, "What events are emitted by CA?":
#: https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/FAQ.md) and
#: Karpenter's Nominated ("Pod should schedule on: nodeclaim/...", kubernetes-sigs/karpenter
#: pkg/controllers/provisioning/scheduling/events.go). Such a pod is waiting for its node.
NODE_COMING = ("TriggeredScaleUp", "Nominated")


@dataclass(frozen=True)
class PodFailure:
    """Why one pod cannot start: a FAILING_REASONS reason, the kubelet's or scheduler's words."""

    pod: str
    reason: str
    message: str = ""
    container: str = ""
    """The container that waits ("" for Unschedulable)."""

    def __str__(self) -> str:
        return f"pod {self.pod}: {self.reason}" + (f" ({self.message})" if self.message else "")


def pods_of(cluster: Cluster, workload: dict[str, Any]) -> list[dict[str, Any]]:
    """The pods a Deployment, StatefulSet or DaemonSet selects, not-running ones first."""
    selector = _selector(workload)
    namespace = (workload.get("metadata") or {}).get("namespace")
    if not selector or not namespace:
        return []
    return _not_running_first(cluster.list("v1", "Pod", str(namespace), selector))


def selected_pods(workload: dict[str, Any],
                  pods: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Those of `pods` (of the workload's namespace) that the workload selects."""
    selector = _selector(workload)
    if not selector:
        return []
    return _not_running_first([p for p in pods if all(
        (p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())])


def _selector(workload: dict[str, Any]) -> dict[str, str]:
    labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def _not_running_first(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(pods, key=lambda p: ((p.get("status") or {}).get("phase") == "Running",
                                       p["metadata"]["name"]))


def container_waiting(pod: dict[str, Any]) -> tuple[str, str, str] | None:
    """(container, reason, message) of the first container of `pod` that is waiting."""
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            return (str(container.get("name", "")), str(waiting.get("reason", "waiting")),
                    str(waiting.get("message", "")))
    return None


def pod_failure(pod: dict[str, Any], crash_restarts: int = 0) -> PodFailure | None:
    """Why `pod` cannot start by itself (FAILING_REASONS), or None.

    CrashLoopBackOff counts once the container has restarted `crash_restarts`
    times: a service may crash a few times while what it needs starts.
    """
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return None  # on its way out (a rollout replaces it)
    status = pod.get("status") or {}
    name = str(pod["metadata"]["name"])
    for container in [*(status.get("initContainerStatuses") or []),
                      *(status.get("containerStatuses") or [])]:
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason not in FAILING_REASONS:
            continue
        if reason == "CrashLoopBackOff" and int(container.get("restartCount") or 0) < \
                crash_restarts:
            continue
        return PodFailure(name, str(reason), str(waiting.get("message") or ""),
                          str(container.get("name") or ""))
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False" \
                and condition.get("reason") == UNSCHEDULABLE:
            return PodFailure(name, UNSCHEDULABLE, str(condition.get("message") or ""))
    return None


def workload_failure(cluster: Cluster | None, workload: dict[str, Any], crash_restarts: int = 0,
                     pods: Sequence[dict[str, Any]] | None = None,
                     events: Sequence[dict[str, Any]] | None = None) -> PodFailure | None:
    """The first pod of `workload` that cannot start by itself, or None.

    `pods` and `events` (of the workload's namespace) are read when not given
    (`cluster` None: both are given, nothing is read).
    """
    chosen = selected_pods(workload, pods) if pods is not None \
        else pods_of(_reader(cluster), workload)
    return failing_pod(cluster, str(workload["metadata"].get("namespace") or ""), chosen,
                       crash_restarts, events)


def failing_pod(cluster: Cluster | None, namespace: str, pods: Sequence[dict[str, Any]],
                crash_restarts: int = 0,
                events: Sequence[dict[str, Any]] | None = None) -> PodFailure | None:
    """The first of `pods` (in `namespace`) that cannot start by itself, or None.

    An unschedulable pod that an autoscaler is making a node for does not
    count; the namespace's events are read to know (unless given).
    """
    for pod in pods:
        failure = pod_failure(pod, crash_restarts)
        if failure is None:
            continue
        if failure.reason == UNSCHEDULABLE:
            if events is None:
                events = _reader(cluster).list("v1", "Event", namespace)
            if node_coming(events, failure.pod):
                continue
        return failure
    return None


def _reader(cluster: Cluster | None) -> Cluster:
    if cluster is None:
        raise TypeError("pods and events must be given when no cluster is")
    return cluster


def node_coming(events: Sequence[dict[str, Any]], pod: str) -> bool:
    """Whether an autoscaler has said it makes a node for `pod` (NODE_COMING events)."""
    return any((e.get("involvedObject") or {}).get("name") == pod
               and e.get("reason") in NODE_COMING for e in events)


def last_event(events: Sequence[dict[str, Any]], names: set[str]) -> str | None:
    """`reason message` of the newest event about any of `names` (see newest_event)."""
    last = newest_event(events, names)
    if last is None:
        return None
    return f"{last.get('reason', '')} {last.get('message', '')}".strip()


def newest_event(events: Sequence[dict[str, Any]], names: set[str]) -> dict[str, Any] | None:
    """The newest event about any of `names`; of events as old as each other, the one listed
    last (the API server lists a pod's events in the order made)."""
    def when(item: tuple[int, dict[str, Any]]) -> tuple[str, int]:
        index, event = item
        return (str(event.get("lastTimestamp") or event.get("eventTime")
                    or (event.get("metadata") or {}).get("creationTimestamp") or ""), index)

    about = [(i, e) for i, e in enumerate(events)
             if (e.get("involvedObject") or {}).get("name") in names]
    return max(about, key=when)[1] if about else None


def failure_remedy(namespace: str, failure: PodFailure) -> str:
    """What to look at or change for a pod that cannot start (a command to run)."""
    pod = f"-n {namespace} {failure.pod}"
    if failure.reason in IMAGE_PULL_REASONS:
        return ("check the image reference and that the nodes can pull it (registry reachable, "
                f"credentials, airgap.registry holding it): kubectl describe pod {pod}")
    if failure.reason == "CrashLoopBackOff":
        return f"see why it crashes: kubectl logs {pod} -c {failure.container} --previous"
    if failure.reason == "CreateContainerConfigError":
        return ("a ConfigMap or Secret the pod reads is missing, or lacks the key it names: "
                f"kubectl describe pod {pod}")
    if failure.reason == UNSCHEDULABLE:
        return ("no node fits the pod (resources, taints, node selectors) and no autoscaler "
                f"is making one: kubectl describe pod {pod}")
    return f"kubectl describe pod {pod}"
