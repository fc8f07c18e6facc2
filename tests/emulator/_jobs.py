"""The job controller, scheduler and kubelet for Jobs' pods (`Settings.jobs`).

What `kfops gpu test` watches, simplified from what Kubernetes documents:

- The job controller creates one pod per Job from its template (its labels and
  annotations), labelled `job-name` and owned by the Job (so deleting the Job deletes it)
  (https://kubernetes.io/docs/concepts/workloads/controllers/job/).
- The scheduler binds the pod to a node that passes the filters `_scheduler` emulates
  (its `status.allocatable` holds what the containers ask for, nvidia.com/gpu included, and
  the pod tolerates its NoSchedule/NoExecute taints); otherwise the pod stays Pending with
  `PodScheduled=False`, reason `Unschedulable` and the scheduler's message
  ("0/2 nodes are available: ...")
  (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/,
  https://kubernetes.io/docs/tasks/configure-pod-container/extended-resource/).
  Simpler: one pod runs per Job.
- The scheduler records a FailedScheduling Event for a pod it cannot place.
  With `Settings.provision_node` set, Karpenter records a Nominated Event ("Pod
  should schedule on: nodeclaim/...") for it and that Node appears
  `provision_delay` seconds later
  (https://karpenter.sh/docs/concepts/scheduling/; Karpenter's events:
  kubernetes-sigs/karpenter pkg/controllers/provisioning/scheduling/events.go).
- The kubelet pulls the image (or reports `ErrImagePull` when
  `Settings.image_pull_error`) and runs the container: the pod Succeeds, and
  its log lists one `GPU n: ...` line per nvidia.com/gpu the node has, as
  `nvidia-smi -L` prints them; with no GPU on the node it Fails.
  The emulator runs no program of its own: a Job named in `Settings.job_results`
  ends with the exit code and log the test gives (the pod Succeeds on 0, Fails
  otherwise), or keeps running (`Running`, an empty log) while its entry is
  None; with `Settings.run_container`, that function runs the container (the
  tests run a database Job's script on this machine), with the same outcome
  (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-phase).
- Once its pod has ended, the job controller marks the Job: `status.succeeded`
  or `status.failed` counts the pod, and the terminal condition `Complete` or
  `Failed` (status "True") says how it ended; a Job with `backoffLimit: 0`
  fails with its first failed pod (reason `BackoffLimitExceeded`)
  (https://kubernetes.io/docs/concepts/workloads/controllers/job/#terminal-job-conditions).
  Simpler: no `SuccessCriteriaMet`/`FailureTarget` conditions before them, and a
  failed pod is never retried (every Job counts as `backoffLimit: 0`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._kubelet import record_event
from ._scheduler import misfit, unschedulable

if TYPE_CHECKING:
    from ._state import ApiState

GPU = "nvidia.com/gpu"


def run_jobs(state: ApiState) -> None:
    """Advance every Job's pod by what the controllers would have done by now."""
    jobs, pods, nodes = (state.kind("batch", "jobs"), state.kind("", "pods"),
                         state.kind("", "nodes"))
    for job in state.list(jobs, ""):
        namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
        owned = state.list(pods, namespace, f"job-name={name}")
        if not owned:
            state.create(pods, namespace, _pod_of(job), dry_run=False)
            owned = state.list(pods, namespace, f"job-name={name}")
        for pod in owned:
            _advance(state, pod, state.list(nodes, ""))
        _mark_job(state, job, state.list(pods, namespace, f"job-name={name}"))


def _pod_of(job: dict[str, Any]) -> dict[str, Any]:
    template = job["spec"]["template"]
    name = job["metadata"]["name"]
    labels = {**(template.get("metadata") or {}).get("labels", {}), "job-name": name}
    annotations = (template.get("metadata") or {}).get("annotations")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{name}-emu01", "namespace": job["metadata"]["namespace"],
                         "labels": labels, **({"annotations": annotations} if annotations else {}),
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                                              "name": name, "uid": job["metadata"]["uid"],
                                              "controller": True}]},
            "spec": template["spec"]}


def _advance(state: ApiState, pod: dict[str, Any], nodes: list[dict[str, Any]]) -> None:
    key = ("", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return
    node_name = pod["spec"].get("nodeName")
    if not node_name:
        fitting = [n for n in nodes if not misfit(pod, n)]
        if not fitting:
            _pending(state, key, pod, nodes)
            return
        node_name = fitting[0]["metadata"]["name"]
        state.merge_patch(state.kind("", "pods"), key[2], key[3],
                          {"spec": {"nodeName": node_name}}, dry_run=False)
    scheduled = {"type": "PodScheduled", "status": "True"}
    container = pod["spec"]["containers"][0]["name"]
    if state.settings.image_pull_error:
        image = pod["spec"]["containers"][0]["image"]
        state.report_status(key, {"phase": "Pending", "conditions": [scheduled],
                                  "containerStatuses": [{"name": container, "ready": False,
                                                         "state": {
                                      "waiting": {"reason": "ErrImagePull",
                                                  "message": f"failed to pull {image}: not found"}
                                  }}]})
        return
    job = f"{key[2]}/{pod['metadata']['labels']['job-name']}"
    if job in state.settings.job_results:
        _run_as_told(state, key, scheduled, pod, state.settings.job_results[job])
        return
    if state.settings.run_container is not None:
        _run(state, key, scheduled, pod)
        return
    node = next(n for n in nodes if n["metadata"]["name"] == node_name)
    gpus = int(((node.get("status") or {}).get("allocatable") or {}).get(GPU, 0))
    log = "".join(f"GPU {i}: NVIDIA A100 80GB PCIe (UUID: GPU-emulated-{i})\n"
                  for i in range(gpus)) or \
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n"
    state.logs[(key[2], key[3], container)] = log
    code = 0 if gpus else 9
    state.report_status(key, {
        "phase": "Succeeded" if gpus else "Failed", "conditions": [scheduled],
        "containerStatuses": [{"name": container, "ready": False, "state": {
            "terminated": {"exitCode": code, "reason": "Completed" if gpus else "Error"}}}]})


def _run(state: ApiState, key: tuple[str, str, str, str], scheduled: dict[str, str],
         pod: dict[str, Any]) -> None:
    """The container as `Settings.run_container` runs it: Succeeded on exit 0, else Failed."""
    assert state.settings.run_container is not None
    secrets = {(k[2], k[3]): stored.obj for k, stored in state.objects.items()
               if k[:2] == ("", "secrets")}
    _ended(state, key, scheduled, pod, state.settings.run_container(pod, secrets))


def _run_as_told(state: ApiState, key: tuple[str, str, str, str], scheduled: dict[str, str],
                 pod: dict[str, Any], result: tuple[int, str] | None) -> None:
    """The container runs until the test gives its exit code and log."""
    if result is None:
        name = pod["spec"]["containers"][0]["name"]
        state.logs[(key[2], key[3], name)] = ""
        state.report_status(key, {"phase": "Running", "conditions": [scheduled],
                                  "containerStatuses": [{"name": name, "ready": True, "state": {
                                      "running": {}}}]})
        return
    _ended(state, key, scheduled, pod, result)


def _ended(state: ApiState, key: tuple[str, str, str, str], scheduled: dict[str, str],
           pod: dict[str, Any], result: tuple[int, str]) -> None:
    """The pod's container exited with `result` (exit code, log)."""
    code, log = result
    name = pod["spec"]["containers"][0]["name"]
    state.logs[(key[2], key[3], name)] = log
    state.report_status(key, {
        "phase": "Succeeded" if code == 0 else "Failed", "conditions": [scheduled],
        "containerStatuses": [{"name": name, "ready": False, "state": {"terminated": {
            "exitCode": code, "reason": "Completed" if code == 0 else "Error"}}}]})


def _mark_job(state: ApiState, job: dict[str, Any], pods: list[dict[str, Any]]) -> None:
    """The job controller's terminal condition once the Job's pod has ended."""
    phases = [(p.get("status") or {}).get("phase") for p in pods]
    if (job.get("status") or {}).get("conditions") or not any(
            phase in ("Succeeded", "Failed") for phase in phases):
        return
    succeeded = "Succeeded" in phases
    condition = {"type": "Complete", "status": "True"} if succeeded else {
        "type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
        "message": "Job has reached the specified backoff limit"}
    key = ("batch", "jobs", job["metadata"]["namespace"], job["metadata"]["name"])
    state.report_status(key, {"succeeded" if succeeded else "failed": 1,
                              "conditions": [condition]})


def _pending(state: ApiState, key: tuple[str, str, str, str], pod: dict[str, Any],
             nodes: list[dict[str, Any]]) -> None:
    message = unschedulable(pod, nodes) or ""
    state.report_status(key, {"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message}]})
    wanted = state.settings.provision_node
    if state.pod_states.get(key) != "Unschedulable":
        state.pod_states[key] = "Unschedulable"
        record_event(state, pod, "FailedScheduling", message, component="default-scheduler")
        if wanted is not None:
            record_event(state, pod, "Nominated", "Pod should schedule on: nodeclaim/"
                         f"{wanted['metadata']['name']}", kind="Normal", component="karpenter")
    if wanted is None:
        return
    due = state.provision_at.setdefault(key, time.monotonic() + state.settings.provision_delay)
    if time.monotonic() >= due and not any(
            n["metadata"]["name"] == wanted["metadata"]["name"] for n in nodes):
        state.create(state.kind("", "nodes"), "", {k: v for k, v in wanted.items()
                                                     if k != "status"}, dry_run=False)
        state.report_status(("", "nodes", "", wanted["metadata"]["name"]), wanted["status"])

