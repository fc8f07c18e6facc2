"""Moving Pipelines' artifacts from the old release's in-cluster store to the new one's.

Kubeflow v1.10 keeps artifacts in MinIO, 26.03 in SeaweedFS, each on its own
claim, and upstream does not copy them ("Please backup and restore any data
that you have on MinIO"). kfops copies them during the upgrade, while both
stores run: a Job in the cluster runs `_store_copy_script` (standard library
Python, shipped in a ConfigMap) with the image of the new release's pipelines
profile controller, which has Python and is already in `images.txt` (and so
mirrored with `spec.airgap`). Its keys come from the Secrets each store's
Deployment reads; its endpoints are the stores' Services.

What is decided here comes from the objects alone (the live old store, the
new render): which stores, their endpoints and keys, the Job. Running the Job
(`StoreCopy`) is the only part that talks to the cluster.

The Job and its ConfigMap carry no ApplySet label, so prune never touches
them, and are named after a digest of what they run, so a run interrupted at
any point finds its own Job again; they are deleted once a copy verified.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfops.cluster import Cluster, WaitSettings, failing_pod, pod_failure, wait_for
from kfops.errors import ClusterError, OperationError
from kfops.objects import MANAGED_BY, container_env, secret_value
from kfops.render import BundleObject, EditableBundle

from . import _store_copy_script as script
from ._azure_blob import SIDECAR
from ._in_cluster_store import InClusterStore, find_in_cluster_stores
from ._object_store import PROFILE_CONTROLLER

#: Marks the copy's Job and ConfigMap.
COPY_LABEL = "kfops.io/store-copy"
_COPY_VALUE = "artifacts"
SCRIPT_FILE = "store_copy.py"
_MOUNT = "/kfops/store-copy"
#: Where each product serves S3 in its container (MinIO's `server` default address :9000,
#: SeaweedFS's `-s3.port` default 8333), and which of its environment holds its keys.
_S3_PORTS = {"minio": 9000, "seaweedfs": 8333}
_MINIO_KEY_ENV = (("MINIO_ACCESS_KEY", "MINIO_ROOT_USER"), ("MINIO_SECRET_KEY",
                                                            "MINIO_ROOT_PASSWORD"))
#: The keys of the Secret the release's SeaweedFS reads through `envFrom`: its postStart
#: makes the admin user `kubeflow-admin` with `$accesskey` and `$secretkey`.
_SEAWEEDFS_KEYS = ("accesskey", "secretkey")
_SHOWN = 5
"""Mismatches named in an error (the Job's log has up to 20, the count has all)."""


@dataclass(frozen=True)
class StoreEndpoint:
    """One store as the copy reaches it: product, S3 URL and the Secret keys to sign with."""

    product: str
    namespace: str
    deployment: str
    """The store's Deployment (in `namespace`)."""
    url: str
    secret: str
    access_key: str
    """The key in `secret` holding the access key (the value is never read here)."""
    secret_key: str

    @property
    def name(self) -> str:
        """`MinIO` or `SeaweedFS` (for messages)."""
        return {"minio": "MinIO", "seaweedfs": "SeaweedFS"}.get(self.product, self.product)


@dataclass(frozen=True)
class StoreMove:
    """A copy from `source` to `target` run by a Job with `image` in `target`'s namespace."""

    source: StoreEndpoint
    target: StoreEndpoint
    image: str

    @property
    def namespace(self) -> str:
        """Where the Job runs: beside the new store (its network policies allow it)."""
        return self.target.namespace

    @property
    def name(self) -> str:
        """The Job's and ConfigMap's name: the same for the same copy, whatever run makes it."""
        digest = hashlib.sha256(json.dumps([self._script(), self._pod("")], sort_keys=True)
                                .encode()).hexdigest()[:10]
        return f"kfops-store-copy-{digest}"

    def objects(self) -> list[dict[str, Any]]:
        """The ConfigMap holding the script, then the Job running it."""
        labels = {MANAGED_BY: "kfops", COPY_LABEL: _COPY_VALUE}
        config = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": self.name, "namespace": self.namespace,
                               "labels": labels},
                  "data": {SCRIPT_FILE: self._script()}}
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": self.name, "namespace": self.namespace, "labels": labels},
               "spec": {"backoffLimit": 0, "template": {
                   # No Istio sidecar: it would keep the pod running after the copy ends. Both
                   # stores take plain-text clients (PERMISSIVE mTLS, AuthorizationPolicies
                   # that allow any source) and their NetworkPolicies the same namespace.
                   "metadata": {"labels": {**labels, "sidecar.istio.io/inject": "false"}},
                   "spec": self._pod(self.name)}}}
        return [config, job]

    def _script(self) -> str:
        return script_source()

    def _pod(self, config_map: str) -> dict[str, Any]:
        source, target = self.source, self.target
        env = [{"name": "SOURCE_ENDPOINT", "value": source.url},
               _secret_env("SOURCE_ACCESS_KEY", source.secret, source.access_key),
               _secret_env("SOURCE_SECRET_KEY", source.secret, source.secret_key),
               {"name": "TARGET_ENDPOINT", "value": target.url},
               _secret_env("TARGET_ACCESS_KEY", target.secret, target.access_key),
               _secret_env("TARGET_SECRET_KEY", target.secret, target.secret_key),
               {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
               {"name": "PYTHONUNBUFFERED", "value": "1"}]
        return {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "copy", "image": self.image,
                "command": ["python", f"{_MOUNT}/{SCRIPT_FILE}"], "env": env,
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"memory": "512Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]},
                                    "readOnlyRootFilesystem": True},
                "volumeMounts": [{"name": "script", "mountPath": _MOUNT, "readOnly": True}],
            }],
            "volumes": [{"name": "script", "configMap": {"name": config_map}}],
        }


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def script_source() -> str:
    """The copy script's text, as shipped in the Job's ConfigMap."""
    return Path(script.__file__).read_text(encoding="utf-8")


@dataclass(frozen=True)
class MoveDecision:
    """Whether the upgrade moves artifacts between in-cluster stores, and why (not)."""

    move: StoreMove | None
    reason: str


def decide_store_move(live: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]
                      ) -> MoveDecision:
    """The copy from the old release's store running in `live` to the store of the `new`
    render, when both are in-cluster stores of different products.

    `live` holds the cluster's Deployments and Services of the new store's
    namespace; `new` the new render's objects (its Secrets included).
    """
    news = find_in_cluster_stores(_editable(new))
    if not news:
        return MoveDecision(None, "the new render keeps artifacts outside the cluster "
                                  "(spec.objectStore): nothing to copy between in-cluster stores")
    target = news[0]
    if any(c.get("name") == SIDECAR for c in _containers(target.deployment.obj)):
        return MoveDecision(None, "spec.objectStore.type azureBlob: the artifacts' home is "
                                  "the Azure container, which kfops does not fill")
    olds = [s for s in find_in_cluster_stores(_editable(live))
            if s.deployment.obj["metadata"]["name"] != target.deployment.obj["metadata"]["name"]]
    if not olds:
        return MoveDecision(None, f"no other in-cluster store runs beside {target.product}: "
                                  "nothing to copy")
    source = olds[0]
    if source.product == target.product:
        return MoveDecision(None, f"the old store is already {source.product}")
    move = StoreMove(_endpoint(source, ()), _endpoint(target, new), _python_image(new))
    return MoveDecision(move, f"artifacts move from {move.source.name} to {move.target.name}")


def store_namespace(new: Sequence[dict[str, Any]]) -> str | None:
    """The namespace of the new render's in-cluster store (where the old one runs too), or
    None when it has none."""
    store = next(iter(find_in_cluster_stores(_editable(new))), None)
    return None if store is None else str(store.deployment.obj["metadata"].get("namespace")
                                          or "default")


def _editable(objects: Sequence[dict[str, Any]]) -> EditableBundle:
    return EditableBundle([BundleObject(obj, "", "") for obj in objects], {})


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["spec"]["template"]["spec"].get("containers") or [])


def _endpoint(store: InClusterStore, objects: Sequence[dict[str, Any]]) -> StoreEndpoint:
    namespace = store.deployment.obj["metadata"].get("namespace") or "default"
    service, port = _s3_service(store)
    url = f"http://{service}.{namespace}:{port}"
    if store.product == "minio":
        secret, access, secret_key = _minio_keys(store)
    else:
        secret, (access, secret_key) = _seaweedfs_secret(store, objects), _SEAWEEDFS_KEYS
    return StoreEndpoint(store.product, namespace, str(store.deployment.obj["metadata"]["name"]),
                         url, secret, access, secret_key)


def _s3_service(store: InClusterStore) -> tuple[str, int]:
    """The Service and port that reach the store's S3 port (its first such port)."""
    wanted = _S3_PORTS.get(store.product)
    for item in store.objects:
        if item.kind != "Service":
            continue
        for port in item.obj["spec"].get("ports") or []:
            if port.get("targetPort", port.get("port")) == wanted:
                return str(item.obj["metadata"]["name"]), int(port["port"])
    raise OperationError(f"no Service reaches {store.product}'s S3 port {wanted} "
                         f"(Deployment {store.deployment.obj['metadata']['name']})")


def _minio_keys(store: InClusterStore) -> tuple[str, str, str]:
    """The Secret and keys MinIO's container reads its access and secret key from."""
    refs = []
    for names in _MINIO_KEY_ENV:
        ref = next(((entry.get("valueFrom") or {}).get("secretKeyRef") for name in names
                    if (entry := container_env(store.server, name)) is not None), None)
        refs.append(ref or {})
    (access, secret) = refs
    if not access.get("name") or access.get("name") != secret.get("name"):
        raise OperationError("MinIO's keys are not read from one Secret (env MINIO_ACCESS_KEY "
                             "and MINIO_SECRET_KEY with secretKeyRef): kfops cannot give them "
                             "to the copy")
    return str(access["name"]), str(access["key"]), str(secret["key"])


def _seaweedfs_secret(store: InClusterStore, objects: Sequence[dict[str, Any]]) -> str:
    """The Secret SeaweedFS's container reads with `envFrom` that holds the admin keys."""
    names = [str(e["secretRef"]["name"]) for e in store.server.get("envFrom") or []
             if "secretRef" in e]
    rendered = {str(o["metadata"]["name"]) for o in objects if o.get("kind") == "Secret"
                and all(secret_value(o, key) is not None for key in _SEAWEEDFS_KEYS)}
    holding = [name for name in names if name in rendered]
    if len(holding) == 1 or (not holding and len(names) == 1):
        return (holding or names)[0]
    raise OperationError(f"cannot tell which Secret holds SeaweedFS's admin keys "
                         f"({', '.join(_SEAWEEDFS_KEYS)}) among its envFrom Secrets "
                         f"{names or 'none'}")


def _python_image(objects: Sequence[dict[str, Any]]) -> str:
    """The image of the new release's pipelines profile controller (it runs Python)."""
    for obj in objects:
        if obj.get("kind") == "Deployment" and obj["metadata"]["name"] == PROFILE_CONTROLLER:
            for container in _containers(obj):
                command = container.get("command") or []
                if command and str(command[0]).rsplit("/", 1)[-1].startswith("python"):
                    return str(container["image"])
    raise OperationError(f"the new render has no {PROFILE_CONTROLLER} running Python, whose "
                         "image the artifact copy runs with")


@dataclass(frozen=True)
class CopySummary:
    """The copy Job's last log line: what it copied and what its verification found."""

    job: str
    objects: int
    bytes: int
    copied: int
    copied_bytes: int
    skipped: int
    mismatch_count: int
    mismatches: tuple[str, ...]
    buckets: dict[str, Any]
    verified: bool
    error: str | None = None

    @classmethod
    def parse(cls, job: str, log: str) -> CopySummary | None:
        """The summary in `log` (its last non-empty line), None when there is none."""
        lines = [line for line in log.splitlines() if line.strip()]
        try:
            data = json.loads(lines[-1]) if lines else None
        except ValueError:
            return None
        if not isinstance(data, dict) or "verified" not in data:
            return None
        return cls(job, int(data.get("objects", 0)), int(data.get("bytes", 0)),
                   int(data.get("copied", 0)), int(data.get("copiedBytes", 0)),
                   int(data.get("skipped", 0)), int(data.get("mismatchCount", 0)),
                   tuple(str(m) for m in data.get("mismatches") or ()),
                   dict(data.get("buckets") or {}), bool(data["verified"]),
                   None if data.get("error") is None else str(data["error"]))


class StoreCopy:
    """Runs (or finds again) the copy Job of a move, waits for it, reads its summary."""

    def __init__(self, cluster: Cluster, move: StoreMove, waits: WaitSettings) -> None:
        self._cluster = cluster
        self._move = move
        self._waits = waits
        self._failing_since: float | None = None
        self.resumed = False
        """The Job was there already (started by an earlier, interrupted run)."""

    @property
    def what(self) -> str:
        """`Job namespace/name`."""
        return f"Job {self._move.namespace}/{self._move.name}"

    def run(self, on_poll: Callable[[list[str]], None] = lambda _: None) -> CopySummary:
        """The verified summary; OperationError naming the Job and what did not match.

        A Job left by an earlier run is reused while it runs or once it
        succeeded; a failed one is replaced (the copy skips what is there).
        """
        self._start()
        wait_for(self._waits, f"artifact copy {self.what}", self._pending, on_poll)
        summary = self._summary()
        if not summary.verified:
            raise OperationError(self._failure(summary))
        self._remove(self._move.name)
        return summary

    def _start(self) -> None:
        move, cluster = self._move, self._cluster
        for job in cluster.list("batch/v1", "Job", move.namespace, {COPY_LABEL: _COPY_VALUE}):
            name = job["metadata"]["name"]
            # another kfops version's copy, or a failed one: this run starts anew
            if name != move.name or _state(job) == "failed":
                self._remove(name)
            else:
                self.resumed = True
        if not self.resumed:
            for obj in move.objects():
                cluster.apply(obj)

    def _remove(self, name: str) -> None:
        namespace = self._move.namespace
        self._cluster.delete("batch/v1", "Job", name, namespace, dependents=True)
        self._cluster.delete("v1", "ConfigMap", name, namespace)

    def _pending(self) -> list[str]:
        job = self._cluster.get("batch/v1", "Job", self._move.name, self._move.namespace)
        if job is None:
            raise OperationError(f"{self.what} was deleted while kfops waited for it")
        if _state(job) != "running":
            return []
        pod = self._pod()
        if pod is None:
            return [f"{self.what} has no pod yet"]
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        if phase in ("Succeeded", "Failed"):
            return []
        self._check_starts(pod)
        return [f"{self.what}: pod {pod['metadata']['name']} is {phase}"]

    def _check_starts(self, pod: dict[str, Any]) -> None:
        """Stop waiting once the pod cannot start by itself (after the failure grace)."""
        failure = failing_pod(self._cluster, self._move.namespace, [pod])
        if failure is None:
            self._failing_since = None
            return
        now = time.monotonic()
        self._failing_since = self._failing_since or now
        if now - self._failing_since >= self._waits.failure_grace:
            raise OperationError(f"{self.what} cannot start: {failure.reason} "
                                 f"{failure.message}".strip())

    def _pod(self) -> dict[str, Any] | None:
        pods = self._cluster.list("v1", "Pod", self._move.namespace,
                                  {"job-name": self._move.name})
        return max(pods, key=lambda p: p["metadata"].get("creationTimestamp") or "",
                   default=None)

    def _summary(self) -> CopySummary:
        pod = self._pod()
        if pod is None:
            raise OperationError(f"{self.what} ended without a pod to read its summary from")
        try:
            log = self._cluster.pod_log(pod["metadata"]["name"], self._move.namespace)
        except ClusterError as error:
            raise OperationError(f"{self.what} ended, but its log cannot be read: "
                                 f"{error}") from error
        summary = CopySummary.parse(self._move.name, log)
        if summary is None:
            failure = pod_failure(pod)
            ended = f"{failure.reason} {failure.message}".strip() if failure else \
                f"pod {(pod.get('status') or {}).get('phase', 'ended')}"
            last = log.strip().splitlines()[-1:] or ["(no output)"]
            raise OperationError(f"{self.what} ended without a summary ({ended}); its last "
                                 f"line: {last[0]}; run again to resume the copy")
        return summary

    def _failure(self, summary: CopySummary) -> str:
        move = self._move
        where = f"from {move.source.name} ({move.source.url}) to {move.target.name} " \
                f"({move.target.url})"
        logs = f"kubectl logs -n {move.namespace} job/{move.name}"
        if summary.error is not None:
            return (f"the artifact copy {where} failed ({self.what}): {summary.error}; "
                    f"see `{logs}`; run again to resume (what was copied is kept)")
        shown = "; ".join(summary.mismatches[:_SHOWN])
        more = summary.mismatch_count - min(summary.mismatch_count, _SHOWN)
        return (f"the artifact copy {where} did not verify ({self.what}): "
                f"{summary.mismatch_count} object(s) differ: {shown}"
                + (f"; and {more} more" if more else "")
                + f"; see `{logs}`. The old store is kept (nothing was pruned); run again "
                  "to copy what differs")


def _state(job: dict[str, Any]) -> str:
    """`running`, `succeeded` or `failed`, from the Job's terminal conditions."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") == "Complete":
            return "succeeded"
        if condition.get("status") == "True" and condition.get("type") == "Failed":
            return "failed"
    return "running"
