"""Waiting for the cluster: CRDs established, webhooks answering, workloads available.

Each wait has a success test, a reason when it is not there yet, and a
timeout that names what was not ready and why; the poll interval and timeout
are settings (tests shorten them). Waits for workloads stop early when one
cannot become available by itself (see _failures).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kfops.errors import WaitTimeout
from kfops.objects import describe

from ._api import CRD_API, Cluster
from ._failures import FailureWatch
from ._pods import UNSCHEDULABLE, container_waiting, last_event, pod_failure, pods_of
from ._webhooks import Webhook


@dataclass(frozen=True)
class WaitSettings:
    """How long to wait for each thing, and how often to look."""

    timeout: float = 600.0
    interval: float = 2.0
    """The longest pause between two looks."""
    first_interval: float = 0.05
    """The first pause; each next one doubles up to `interval` (quick when the cluster is)."""
    failure_grace: float = 60.0
    """Seconds a workload's pod may show a reason of FAILING_REASONS (an image that cannot be
    pulled, a crash loop, missing configuration, no node) before the wait stops with
    WorkloadFailed instead of waiting out `timeout`."""
    crash_restarts: int = 5
    """Restarts after which CrashLoopBackOff counts as failing: Kubeflow's services crash a few
    times while the databases they need start."""

    def failure_watch(self, cluster: Cluster) -> FailureWatch:
        """A watch that stops a wait on workloads that cannot become available."""
        return FailureWatch(cluster, self.failure_grace, self.crash_restarts,
                            lambda obj: bool(list(_unavailable(cluster, [obj]))))


def wait_for(
    settings: WaitSettings, what: str, pending: Callable[[], list[str]],
    on_poll: Callable[[list[str]], None] = lambda _: None,
    explain: Callable[[], list[str]] | None = None,
) -> None:
    """Poll `pending` (the reasons still not ready) until it is empty, or raise WaitTimeout.

    `explain`, when given, replaces the last reasons in the timeout message with
    a costlier account (pods, events) that is not worth fetching on every poll.
    """
    deadline = time.monotonic() + settings.timeout
    first = min(settings.first_interval, settings.interval)
    pause, last = first, None
    while True:
        reasons = pending()
        on_poll(reasons)
        if not reasons:
            return
        if reasons != last:
            pause, last = first, reasons  # something moved: look again soon
        if time.monotonic() >= deadline:
            reasons = (explain() if explain else None) or reasons
            raise WaitTimeout(f"{what} not ready after {settings.timeout:.0f}s:\n  "
                              + "\n  ".join(reasons))
        time.sleep(pause)
        pause = min(pause * 2, settings.interval)


def crds_pending(cluster: Cluster, crds: Sequence[dict[str, Any]]) -> list[str]:
    """CRDs not yet Established."""
    reasons = []
    for crd in crds:
        live = cluster.get(CRD_API, "CustomResourceDefinition",
                           crd["metadata"]["name"])
        conditions = {c.get("type"): c for c in ((live or {}).get("status") or {}).get(
            "conditions") or []}
        if (conditions.get("Established") or {}).get("status") != "True":
            reasons.append(f"{describe(crd)}: not Established yet")
    return reasons


def namespace_pending(cluster: Cluster, namespace: str) -> list[str]:
    """Why objects cannot go into `namespace` yet (a controller has still to make it)."""
    live = cluster.get("v1", "Namespace", namespace)
    if live is None:
        return [f"namespace {namespace} does not exist yet (a Profile's namespace appears once "
                "the profile controller has handled it)"]
    if live["metadata"].get("deletionTimestamp"):
        return [f"namespace {namespace} is being deleted"]
    return []


def webhooks_pending(cluster: Cluster, hooks: Iterable[Webhook]) -> list[str]:
    """Webhooks whose Service has no ready endpoint, or whose CA is not injected yet."""
    reasons = []
    for hook in {h.name: h for h in hooks}.values():
        namespace, service = hook.service
        slices = cluster.list("discovery.k8s.io/v1", "EndpointSlice", namespace,
                              {"kubernetes.io/service-name": service})
        ready = any((endpoint.get("conditions") or {}).get("ready")
                    for s in slices for endpoint in s.get("endpoints") or [])
        if not ready:
            reasons.append(f"webhook {hook.name}: Service {namespace}/{service} has no ready "
                           "endpoint")
            continue
        if hook.injected_ca and not _ca_injected(cluster, hook):
            reasons.append(f"webhook {hook.name}: cert-manager has not injected its CA yet")
    return reasons


def _ca_injected(cluster: Cluster, hook: Webhook) -> bool:
    kind, name = hook.configuration
    live = cluster.get("admissionregistration.k8s.io/v1", kind, name)
    for entry in (live or {}).get("webhooks") or []:
        if entry.get("name") == hook.name:
            return bool((entry.get("clientConfig") or {}).get("caBundle"))
    return False


def wait_for_workloads(cluster: Cluster, workloads: Sequence[dict[str, Any]],
                       settings: WaitSettings,
                       on_poll: Callable[[list[str]], None] = lambda _: None,
                       watch: FailureWatch | None = None) -> None:
    """Wait until `workloads` are available; WorkloadFailed as soon as one cannot become
    available by itself (after `settings.failure_grace`), WaitTimeout after the timeout."""
    watch = watch or settings.failure_watch(cluster)

    def pending() -> list[str]:
        unavailable = list(_unavailable(cluster, workloads))
        watch.check([obj for obj, _ in unavailable])
        return [f"{describe(obj)}: {problem}" for obj, problem in unavailable]

    wait_for(settings, "workloads", pending, on_poll,
             lambda: workloads_explained(cluster, workloads))


def _unavailable(cluster: Cluster,
                 workloads: Sequence[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], str]]:
    for obj in workloads:
        metadata = obj["metadata"]
        live = cluster.get(str(obj["apiVersion"]), str(obj["kind"]), metadata["name"],
                           metadata.get("namespace"))
        problem = _workload_problem(obj, live)
        if problem:
            yield obj, problem


def workloads_explained(cluster: Cluster, workloads: Sequence[dict[str, Any]]) -> list[str]:
    """Why each pending workload is not available: replicas, its pods' phase, the last event."""
    events: dict[str, list[dict[str, Any]]] = {}
    reasons = []
    for obj, problem in _unavailable(cluster, workloads):
        metadata = obj["metadata"]
        namespace = str(metadata.get("namespace") or "default")
        if namespace not in events:
            events[namespace] = cluster.list("v1", "Event", namespace)
        pods = pods_of(cluster, obj)
        details = [problem, *(_pod_state(pod) for pod in pods[:2])]
        names = {metadata["name"], *(p["metadata"]["name"] for p in pods)}
        last = last_event(events[namespace], names)
        if last:
            details.append(f"last event: {last}")
        reasons.append(f"{describe(obj)}: {'; '.join(details)}")
    return reasons


def _pod_state(pod: dict[str, Any]) -> str:
    text = f"pod {pod['metadata']['name']} {(pod.get('status') or {}).get('phase', 'Unknown')}"
    failure = pod_failure(pod)
    if failure is not None and failure.reason == UNSCHEDULABLE:
        return f"{text} ({failure.reason}: {failure.message})"
    waiting = container_waiting(pod)
    if waiting is None:
        return text
    container, reason, message = waiting
    return f"{text} ({container} {reason}{': ' + message if message else ''})"


def _workload_problem(obj: dict[str, Any], live: dict[str, Any] | None) -> str | None:
    if live is None:
        return "missing"
    status = live.get("status") or {}
    wanted = int((obj.get("spec") or {}).get("replicas", 1))
    if status.get("observedGeneration", 0) < live["metadata"].get("generation", 1):
        return "controller has not seen the latest change"
    if obj["kind"] == "DaemonSet":
        desired, available = status.get("desiredNumberScheduled", 0), status.get(
            "numberAvailable", 0)
        return None if available >= desired else f"{available}/{desired} pods available"
    field = "availableReplicas" if obj["kind"] == "Deployment" else "readyReplicas"
    have = int(status.get(field, 0) or 0)
    if have >= wanted:
        return None
    messages = [c.get("message") or c.get("reason") for c in status.get("conditions") or []
                if c.get("status") == "False"]
    detail = f" ({'; '.join(m for m in messages if m)})" if any(messages) else ""
    return f"{have}/{wanted} replicas available{detail}"
