"""The kubelet and scheduler for workloads kept unavailable (`Settings.failing`), and Events.

What `kfops apply`'s waits and `kfops status` read, as the Kubernetes
documentation describes it:

- A Deployment, StatefulSet or DaemonSet named in `Settings.failing` gets one
  pod (the template's labels and spec, owned by the workload) whose status is
  what the kubelet or scheduler reports for the chosen reason
  (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/,
  https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/):
  ErrImagePull and ImagePullBackOff (Pending, the container waiting with the
  pull error or `Back-off pulling image "..."`), CrashLoopBackOff (Running,
  the container waiting after `restartCount` restarts, its last state
  terminated with exit code 1), CreateContainerConfigError (Pending, the
  container waiting with `configmap "..." not found`), Unschedulable (Pending,
  `PodScheduled` False with the scheduler's "0/N nodes are available: ..." as `_scheduler`
  words it from the pod's requests and the stored Nodes, or one implied 8-CPU node without
  GPUs when there is none: a pod asking for nvidia.com/gpu that no node has reads
  `N Insufficient nvidia.com/gpu`, one that would fit finds its nodes full,
  `Insufficient cpu`).
  The workload reports no available replica meanwhile. A pod the scheduler placed is bound
  to the node its Scheduled event names (`spec.nodeName`, which the scheduler's binding sets:
  https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#scheduling).
  The pull error is the container runtime's answer: the registry has no such image (`failed to
  resolve reference "...": not found`), or what `Settings.pull_errors["namespace/workload"]`
  gives, e.g. a registry the node cannot reach (`dial tcp ...: i/o timeout`, `proxyconnect
  tcp: ...`, `x509: ...`), as https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff
  and https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/ describe the
  kubelet reporting it in the container's waiting state and the `Failed` event.
- Each state is announced with the Events `kubectl describe pod` shows
  (Scheduled, Pulling, Failed, BackOff, FailedScheduling, ...), in the order the
  kubelet records them, named `<pod>.<nanoseconds in hex>` as client-go's
  recorder names them (so a namespace lists them in the order made).
- The pod's log is served as the kubelet serves it (`container_log`): its first
  container's output is `Settings.logs["namespace/workload"]` once it has run (a
  CrashLoopBackOff container's last run, also given for `previous=true`), and a container
  still waiting answers why (`container "web" in pod "..." is waiting to start: trying and
  failing to pull image`), an Unschedulable pod an empty answer (no node to ask)
  (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#read-log-of-the-specified-pod,
  https://kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/#examine-pod-logs).
- With `Settings.failing_for`, the pod recovers that many seconds after the
  workload's last change: Running and ready, and the workload available.
  A failing workload scaled to zero replicas has its pod deleted (and is available).
  Simpler: no ReplicaSet between a Deployment and its pod, one pod per workload,
  events are never aggregated (no `count` increments).
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any

from ._scheduler import unschedulable

if TYPE_CHECKING:
    from ._state import ApiState, Key

NODE = "emulated-node-1"
_SUFFIX = {"Deployment": "-5d8f7c9b4-emu01", "StatefulSet": "-0", "DaemonSet": "-emu01"}
IMPLIED_NODE: dict[str, Any] = {
    "metadata": {"name": NODE}, "status": {"allocatable": {"cpu": "8", "memory": "32Gi"}}}
"""The node failing workloads' pods run on while the test stores no Node."""
_event_clock = itertools.count(time.time_ns())


def record_event(state: ApiState, pod: dict[str, Any], reason: str, message: str, *,
                 kind: str = "Warning", component: str = "kubelet") -> None:
    """An Event about `pod`, as a kubelet, scheduler or autoscaler records it."""
    metadata = pod["metadata"]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    state.create(state.kind("", "events"), metadata["namespace"], {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{metadata['name']}.{next(_event_clock):x}",
                     "namespace": metadata["namespace"]},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": metadata["name"],
                           "namespace": metadata["namespace"], "uid": metadata.get("uid", "")},
        "reason": reason, "message": message, "type": kind,
        "source": {"component": component}, "reportingComponent": component,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1}, dry_run=False)


def run_failing_workloads(state: ApiState) -> None:
    """Give each workload of `Settings.failing` its pod, in the state its reason says."""
    from ._state import ApiError  # noqa: PLC0415 - _state imports this module

    for key, stored in state.workloads():
        reason = state.settings.failing.get(f"{key[2]}/{key[3]}")
        if reason is None:
            continue
        if int((stored.obj.get("spec") or {}).get("replicas", 1)) == 0:
            _remove_pod(state, key, stored.obj)  # scaled to zero: its pod is deleted
            continue
        try:
            pod = _pod(state, key, stored.obj)
        except ApiError:
            continue  # a webhook refused the pod, as it refuses a ReplicaSet's: try again later
        shown = "Running" if not state.kept_failing(key, stored) else reason
        output = state.settings.logs.get(f"{key[2]}/{key[3]}")
        if output is not None:  # what its container printed (a crashing one: its last run)
            first = (pod["spec"].get("containers") or [{}])[0].get("name", "main")
            state.logs[(key[2], pod["metadata"]["name"], first)] = output
        before = state.pod_states.get(_pod_key(pod))
        if before != shown:
            state.pod_states[_pod_key(pod)] = shown
            _report(state, pod, shown, scheduled_now=before in (None, "Unschedulable"))


def pod_key(workload: Key, kind: str) -> Key:
    """The key of the one pod a failing workload gets."""
    return ("", "pods", workload[2], workload[3] + _SUFFIX[kind])


def _pod_key(pod: dict[str, Any]) -> Key:
    return ("", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"])


def _remove_pod(state: ApiState, key: Key, workload: dict[str, Any]) -> None:
    pod = pod_key(key, workload["kind"])
    state.pod_states.pop(pod, None)
    if pod in state.objects:
        state.delete(state.kind("", "pods"), pod[2], pod[3], dry_run=False)


def _pod(state: ApiState, key: Key, workload: dict[str, Any]) -> dict[str, Any]:
    """The workload's pod, made when missing."""
    name = pod_key(key, workload["kind"])[3]
    existing = state.objects.get(("", "pods", key[2], name))
    if existing is not None:
        return existing.obj
    state.pod_states.pop(("", "pods", key[2], name), None)  # a new pod: nothing reported yet
    template = workload["spec"].get("template") or {}
    return state.create(state.kind("", "pods"), key[2], {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": key[2],
                     "labels": dict((template.get("metadata") or {}).get("labels") or {}),
                     "ownerReferences": [{
                         "apiVersion": workload["apiVersion"], "kind": workload["kind"],
                         "name": key[3], "uid": workload["metadata"]["uid"],
                         "controller": True}]},
        "spec": template.get("spec") or {"containers": []}}, dry_run=False)


def _report(state: ApiState, pod: dict[str, Any], shown: str, scheduled_now: bool) -> None:
    container = (pod["spec"].get("containers") or [{}])[0]
    name, image = container.get("name", "main"), container.get("image", "")
    namespace, pod_name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    if shown == "Unschedulable":
        nodes = state.list(state.kind("", "nodes"), "") or [IMPLIED_NODE]
        says = unschedulable(pod, nodes, full=True) or ""
        state.report_status(_pod_key(pod), {"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": says}]})
        record_event(state, pod, "FailedScheduling", says, component="default-scheduler")
        return
    if scheduled_now:
        record_event(state, pod, "Scheduled", f"Successfully assigned {namespace}/{pod_name} "
                     f"to {NODE}", kind="Normal", component="default-scheduler")
    state.objects[_pod_key(pod)].obj["spec"]["nodeName"] = NODE  # the scheduler's binding
    owner = (pod["metadata"].get("ownerReferences") or [{}])[0].get("name", "")
    pull_error = state.settings.pull_errors.get(f"{namespace}/{owner}")
    waiting, events, phase, extra = _kubelet_says(shown, name, image, pod,
                                                  state.settings.crash_restarts,
                                                  pull_error=pull_error)
    for reason, message, kind in events:
        record_event(state, pod, reason, message, kind=kind)
    ready = shown == "Running"
    status = {"name": name, "image": image, "ready": ready, "started": ready,
              "restartCount": extra.get("restartCount", 0),
              "state": {"running": {"startedAt": _now()}} if ready else {"waiting": waiting},
              **({"lastState": extra["lastState"]} if "lastState" in extra else {})}
    state.report_status(_pod_key(pod), {
        "phase": phase, "hostIP": "10.0.0.2", "podIP": "10.0.1.9", "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": str(ready),
             **({} if ready else {"reason": "ContainersNotReady"})},
            {"type": "Ready", "status": str(ready),
             **({} if ready else {"reason": "ContainersNotReady"})}],
        "containerStatuses": [status]})


def _kubelet_says(shown: str, container: str, image: str, pod: dict[str, Any], restarts: int,
                  *, pull_error: str | None = None
                  ) -> tuple[dict[str, str], list[tuple[str, str, str]], str, dict[str, Any]]:
    """(waiting state, events, phase, more container status) for the reason `shown`
    (`pull_error`: the runtime's answer to a pull; None: the image is not found)."""
    pull_error = pull_error or (f'failed to pull and unpack image "{image}": failed to '
                                f'resolve reference "{image}": not found')
    pulling = ("Pulling", f'Pulling image "{image}"', "Normal")
    failed_pull = ("Failed", f'Failed to pull image "{image}": {pull_error}', "Warning")
    if shown == "ErrImagePull":
        return ({"reason": "ErrImagePull", "message": pull_error},
                [pulling, failed_pull, ("Failed", "Error: ErrImagePull", "Warning")],
                "Pending", {})
    if shown == "ImagePullBackOff":
        return ({"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'},
                [pulling, failed_pull, ("Failed", "Error: ErrImagePull", "Warning"),
                 ("BackOff", f'Back-off pulling image "{image}"', "Normal"),
                 ("Failed", "Error: ImagePullBackOff", "Warning")], "Pending", {})
    present = ("Pulled", f'Container image "{image}" already present on machine', "Normal")
    where = f"{pod['metadata']['name']}_{pod['metadata']['namespace']}({pod['metadata']['uid']})"
    if shown == "CrashLoopBackOff":
        return ({"reason": "CrashLoopBackOff",
                 "message": f"back-off 2m40s restarting failed container={container} "
                            f"pod={where}"},
                [present, ("Created", f"Created container {container}", "Normal"),
                 ("Started", f"Started container {container}", "Normal"),
                 ("BackOff", f"Back-off restarting failed container {container} in pod {where}",
                  "Warning")],
                "Running", {"restartCount": restarts, "lastState": {"terminated": {
                    "exitCode": 1, "reason": "Error", "finishedAt": _now()}}})
    if shown == "CreateContainerConfigError":
        missing = _missing_config(pod)
        return ({"reason": "CreateContainerConfigError", "message": missing},
                [present, ("Failed", f"Error: {missing}", "Warning")], "Pending", {})
    return ({}, [("Pulled", f'Successfully pulled image "{image}"', "Normal"),
                 ("Created", f"Created container {container}", "Normal"),
                 ("Started", f"Started container {container}", "Normal")], "Running", {})


def _missing_config(pod: dict[str, Any]) -> str:
    """`configmap "x" not found` for the first ConfigMap or Secret the container reads."""
    container = (pod["spec"].get("containers") or [{}])[0]
    for source in container.get("envFrom") or []:
        for field, kind in (("configMapRef", "configmap"), ("secretRef", "secret")):
            if (source.get(field) or {}).get("name"):
                return f'{kind} "{source[field]["name"]}" not found'
    for variable in container.get("env") or []:
        origin = variable.get("valueFrom") or {}
        for field, kind in (("configMapKeyRef", "configmap"), ("secretKeyRef", "secret")):
            if (origin.get(field) or {}).get("name"):
                return f'{kind} "{origin[field]["name"]}" not found'
    return 'configmap "settings" not found'


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class LogRefused(Exception):
    """What the kubelet answers instead of a log (the API server passes it on as a 400)."""


def container_log(state: ApiState, pod: dict[str, Any], container: str,
                  previous: bool) -> str | None:
    """A container's log as the kubelet serves it; None when the pod has no node yet.

    The kubelet picks the container instance as its validateContainerLogStatus does: with
    `previous`, the last terminated one (or a refusal); else the running one, then a
    terminated one, then the last terminated one (a CrashLoopBackOff container's last run),
    and for a container still waiting, the reason it cannot start.
    """
    metadata = pod["metadata"]
    namespace, name = metadata["namespace"], metadata["name"]
    if not _on_a_node(pod):
        return None
    status = pod.get("status") or {}
    found = next((s for s in [*(status.get("initContainerStatuses") or []),
                              *(status.get("containerStatuses") or [])]
                  if s.get("name") == container), None)
    text = state.logs.get((namespace, name, container))
    if found is None:
        if text is not None:
            return text  # a test gave the log without a status for it
        raise LogRefused(f'container "{container}" in pod "{name}" is not available')
    current, last = found.get("state") or {}, (found.get("lastState") or {})
    if previous:
        if "terminated" not in last:
            raise LogRefused(f'previous terminated container "{container}" in pod "{name}" '
                             "not found")
        return text or ""
    if "running" in current or "terminated" in current or "terminated" in last:
        return text or ""
    reason = (current.get("waiting") or {}).get("reason", "ContainerCreating")
    said = {"ErrImagePull": "image can't be pulled",
            "ImagePullBackOff": "trying and failing to pull image"}.get(reason, reason)
    raise LogRefused(f'container "{container}" in pod "{name}" is waiting to start: {said}')


def _on_a_node(pod: dict[str, Any]) -> bool:
    """Whether the scheduler has placed the pod (the API server asks no kubelet before)."""
    return bool(pod["spec"].get("nodeName")) or any(
        c.get("type") == "PodScheduled" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or [])
