"""Rules about what the nodes lack: inotify instances and watches, GPUs."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kfops.catalog import GPU_RESOURCE, INOTIFY_LIMITS
from kfops.cluster import UNSCHEDULABLE, node_coming, pod_failure
from kfops.errors import Forbidden

from ._facts import InstallFacts
from ._findings import Finding
from ._scope import first_few, pod_name, shown, watched_pods
from ._snapshot import Snapshot

#: What a process prints when the host's inotify limits are used up. kind and k3d nodes are
#: containers sharing the host's kernel, so every pod of every node counts against one
#: fs.inotify.max_user_instances / max_user_watches: "failed to create fsnotify watcher: too
#: many open files" (https://kind.sigs.k8s.io/docs/user/known-issues/#pod-errors-due-to-too-many-open-files,
#: kubeflow/manifests#2087 "Several pods do not start, encounter 'too many open files'",
#: kubeflow/pipelines#9610), "inotify_init: too many open files" (kubeflow/pipelines#5529), and
#: ENOSPC from inotify_add_watch once max_user_watches is reached (inotify(7): "The user limit
#: on the total number of inotify watches was reached"), printed as "no space left on device".
INOTIFY_SIGNATURES = ("too many open files", "failed to create fsnotify watcher",
                      "inotify_init", "inotify watch limit reached")
_ENOSPC = "no space left on device"
_WATCH_WORDS = ("inotify", "fsnotify", "watch")
_LINE = 200
"""Characters of a log line shown as evidence."""


def inotify_exhausted(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """Nodes whose pods crash with an inotify signature in their log (read only for containers
    that crash-loop or restarted)."""
    by_node: dict[str, list[str]] = defaultdict(list)
    for pod in watched_pods(snapshot, facts):
        for container, state in _restarted(pod):
            line = _signature(snapshot.log(pod["metadata"]["namespace"],
                                           pod["metadata"]["name"], container))
            if line is not None:
                node = str((pod.get("spec") or {}).get("nodeName") or "(no node named)")
                by_node[node].append(f"Pod {pod_name(pod)} container {container} ({state}): "
                                     f"{line}")
                break  # one line per pod is evidence enough
    return [Finding(
        "inotify", "failure",
        f"node {node}: pods fail with inotify limits exhausted (too many open files)",
        tuple(lines), _inotify_fix(node)) for node, lines in sorted(by_node.items())]


def _restarted(pod: dict[str, Any]) -> list[tuple[str, str]]:
    """(container, `CrashLoopBackOff` or `N restarts`) of the pod's containers that crashed."""
    status = pod.get("status") or {}
    found = []
    for container in [*(status.get("initContainerStatuses") or []),
                      *(status.get("containerStatuses") or [])]:
        waiting = ((container.get("state") or {}).get("waiting") or {}).get("reason")
        restarts = int(container.get("restartCount") or 0)
        if waiting == "CrashLoopBackOff" or restarts > 0:
            said = f"{waiting}, {restarts} restarts" if waiting else f"{restarts} restarts"
            found.append((str(container.get("name")), said))
    return found


def _signature(log: str | None) -> str | None:
    """The last log line that shows the inotify limits reached, or None."""
    for line in reversed((log or "").splitlines()):
        lowered = line.lower()
        if any(s in lowered for s in INOTIFY_SIGNATURES) or (
                _ENOSPC in lowered and any(w in lowered for w in _WATCH_WORDS)):
            text = line.strip()
            return text if len(text) <= _LINE else text[:_LINE] + "..."
    return None


def _inotify_fix(node: str) -> str:
    values = [f"fs.inotify.{name}={value}" for name, value in INOTIFY_LIMITS.items()]
    persist = "\\n".join(values)
    return (f"raise the inotify limits on the host of node {node} (kind and k3d nodes share "
            f"it), as Kubeflow's manifests README asks: sudo sysctl {' '.join(values)}; keep "
            f"them after a reboot: printf '{persist}\\n' | sudo tee "
            "/etc/sysctl.d/99-kubeflow.conf && sudo sysctl --system; then delete the crashing "
            "pods so that they start again")


def gpu_pending(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """GPU pods the scheduler cannot place, with whether any node or node pool has GPUs."""
    pods = []
    for pod in watched_pods(snapshot, facts):
        message = _unschedulable(pod)
        if message is None or not _wants_gpu(pod, message):
            continue
        events = snapshot.in_namespace("v1", "Event", pod["metadata"]["namespace"])
        if node_coming(events, pod["metadata"]["name"]):
            continue  # an autoscaler is making its node
        pods.append((pod, message))
    if not pods:
        return []
    nodes = _readable(snapshot, "v1", "Node")
    gpu_nodes = {f"{n['metadata']['name']} ({_gpus(n)})": _gpus(n)
                 for n in nodes or [] if _gpus(n)}
    pools = sorted(str(p["metadata"]["name"])
                   for p in _readable(snapshot, "karpenter.sh/v1", "NodePool") or []
                   if _gpu_pool(p))
    evidence = first_few([f"Pod {pod_name(p)}: {message}" for p, message in pods],
                         f"pod(s) waiting for {GPU_RESOURCE}")
    evidence.append(f"nodes with {GPU_RESOURCE} allocatable: {shown(sorted(gpu_nodes))}"
                    if gpu_nodes else f"no node has {GPU_RESOURCE} allocatable"
                    if nodes is not None else "the Nodes may not be read with these credentials")
    evidence.append(f"Karpenter NodePools (karpenter.sh/v1) for GPU nodes: {shown(pools)}"
                    if pools else "no Karpenter NodePool (karpenter.sh/v1) makes GPU nodes")
    # GPU nodes exist and a taint kept the pods off them: spec.gpu.taint, not too few GPUs
    tainted = bool(gpu_nodes) and any("untolerated taint" in m for _, m in pods)
    why = "untolerated GPU node taint" if tainted else f"Insufficient {GPU_RESOURCE}"
    known_none = nodes is not None and not gpu_nodes and not pools
    return [Finding("gpu-pending", "failure" if known_none else "warning",
                    f"{len(pods)} GPU pod(s) Pending: {why}", tuple(evidence),
                    _gpu_fix(bool(gpu_nodes), bool(pools), tainted))]


def _readable(snapshot: Snapshot, api_version: str, kind: str) -> list[dict[str, Any]] | None:
    """The kind's objects, or None when the credentials may not list them (the pods are
    evidence enough: the rule still reports them)."""
    try:
        return snapshot.list(api_version, kind)
    except Forbidden:
        return None


def _unschedulable(pod: dict[str, Any]) -> str | None:
    """The scheduler's message of a pod it cannot place, or None."""
    failure = pod_failure(pod)
    return failure.message if failure is not None and failure.reason == UNSCHEDULABLE else None


def _wants_gpu(pod: dict[str, Any], message: str) -> bool:
    """The scheduler found too few GPUs, or the pod asks for GPUs and a taint kept it off."""
    if f"Insufficient {GPU_RESOURCE}" in message:
        return True
    return "untolerated taint" in message and _asks_gpus(pod)


def _asks_gpus(pod: dict[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        resources = container.get("resources") or {}
        for amounts in (resources.get("limits") or {}, resources.get("requests") or {}):
            if str(amounts.get(GPU_RESOURCE, "0")) not in ("0", ""):
                return True
    return False


def _gpus(node: dict[str, Any]) -> int:
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    try:
        return int(allocatable.get(GPU_RESOURCE, 0))
    except (TypeError, ValueError):
        return 0


def _gpu_pool(pool: dict[str, Any]) -> bool:
    """A NodePool that asks for GPU instances (a requirement on a GPU label such as
    karpenter.azure.com/sku-gpu-manufacturer or karpenter.k8s.aws/instance-gpu-count) or
    taints its nodes with the GPU resource's name."""
    template = ((pool.get("spec") or {}).get("template") or {}).get("spec") or {}
    for requirement in template.get("requirements") or []:
        if "gpu" in str(requirement.get("key", "")) and \
                requirement.get("operator") not in ("DoesNotExist", "NotIn"):
            return True
    return any(t.get("key") == GPU_RESOURCE for t in template.get("taints") or [])


def _gpu_fix(nodes: bool, pools: bool, tainted: bool) -> str:
    if tainted:
        return ("the GPU nodes carry spec.gpu.taint and the pods do not tolerate it: give the "
                "profile the gpuToleration PodDefault (spec.profiles[].podDefaults: "
                "[gpuToleration], kfops apply) and label the pods gpu-toleration: \"true\" "
                "(or pick the notebook's GPU nodes toleration group)")
    if pools:
        return ("a GPU NodePool exists but no node was nominated for the pods: see Karpenter's "
                "log (kubectl -n kube-system logs deploy/karpenter) and the pool's limits "
                "(spec.karpenter.nodePools[].cpuLimit); kfops gpu test -f platform.yaml tries it")
    if nodes:
        return ("every GPU is taken: share each GPU between pods with "
                "spec.gpu.timeSlicing.replicas, add GPU nodes, or let Karpenter add them "
                "(spec.karpenter.nodePools[].gpu: true on aks); then kfops apply -f platform.yaml")
    return ("no node offers GPUs: add GPU nodes and set spec.gpu.enabled: true (the NVIDIA "
            "device plugin or GPU operator advertises nvidia.com/gpu), or on aks a pool with "
            "spec.karpenter.nodePools[].gpu: true; then kfops apply -f platform.yaml and "
            "kfops gpu test -f platform.yaml")
