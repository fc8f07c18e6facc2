"""Database dumps taken, and loaded back, by Jobs in the cluster.

kfops cannot reach a database from outside the cluster (no exec, no
port-forward: only the API), so a Job next to it does the work and writes to a
PersistentVolumeClaim kept for backups. The Job runs the image the live
database Deployment runs (so `mysqldump` matches the server), as the database
pod runs (its securityContext, its Istio sidecar or none), reads the root
password from the Secret the database reads it from (the container's
MYSQL_ROOT_PASSWORD reference, copied; never the value), and writes the dump
gzipped with its SHA-256 beside it. Its last log line reports the file, size,
checksum and the databases dumped; the password never appears in a log or an
argument (it goes into an option file in a memory-backed volume).

The claim is labelled as kfops's but is never an ApplySet member, so prune
and uninstall never remove it. Job names are fixed per database and direction
(`kfops-dump-pipelines`), so a run after an interruption finds the Job it
started: one for the same backup is waited for (or read, when it already
succeeded), any other (or one that failed) is replaced.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kfops.cluster import Cluster, WaitSettings, failing_pod, wait_for
from kfops.errors import ClusterError, WaitTimeout
from kfops.objects import MANAGED_BY, PLATFORM_LABEL

BACKUP_ANNOTATION = "kfops.io/backup"
"""On the Jobs: the backup (its folder's name) they dump into or load from."""
STORE_LABEL = "kfops.io/backup-store"
"""On the claim that keeps the dumps."""
MOUNT = "/backup"
SCRATCH = "/scratch"
INJECT = "sidecar.istio.io/inject"
NATIVE_SIDECAR = "sidecar.istio.io/nativeSidecar"


@dataclass(frozen=True)
class Database:
    """A MySQL server of the platform, as both shipped releases (v1.10.2, 26.03) run it."""

    name: str
    deployment: str
    namespace: str
    service: str
    port: int = 3306
    client_account: str | None = None
    """A service account the database's Istio AuthorizationPolicy lets in (Pipelines' MySQL
    admits only the pipelines services); None: the namespace's default."""

    @property
    def dump_file(self) -> str:
        """The dump's file name in the backup's folder of the claim."""
        return f"{self.name}.sql.gz"


DATABASES = (
    Database("pipelines", "mysql", "kubeflow", "mysql", client_account="ml-pipeline"),
    Database("katib", "katib-mysql", "kubeflow", "katib-mysql"),
)


@dataclass(frozen=True)
class DumpStore:
    """The PersistentVolumeClaim that keeps the dumps (one per database namespace)."""

    claim: str = "kfops-backups"
    size: str = "10Gi"
    storage_class: str | None = None
    """None: the cluster's default StorageClass."""


@dataclass(frozen=True)
class Dump:
    """One database dump in the claim."""

    database: str
    deployment: str
    namespace: str
    image: str
    claim: str
    path: str
    """Inside the claim: `<backup name>/<database>.sql.gz` (and `.sha256` beside it)."""
    size: int
    sha256: str
    schemas: tuple[str, ...]
    """The MySQL databases in it (every one but the server's own schemas)."""

    def manifest(self) -> dict[str, Any]:
        """As the backup manifest records it."""
        return {"database": self.database, "deployment": f"{self.namespace}/{self.deployment}",
                "image": self.image, "claim": self.claim, "path": self.path,
                "bytes": self.size, "sha256": self.sha256, "schemas": list(self.schemas)}


_CLIENT_CONFIG = r"""
umask 077
# The password goes into an option file (memory-backed volume), never onto a command line.
escaped=$(printf '%s' "${DB_PASSWORD:-}" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
cnf="$SCRATCH/client.cnf"
printf '[client]\nuser=root\npassword="%s"\nhost=%s\nport=%s\n' \
    "$escaped" "$DB_HOST" "$DB_PORT" > "$cnf"
"""

DUMP_SCRIPT = "set -euo pipefail\n" + _CLIENT_CONFIG + r"""
mkdir -p "$DUMP_DIR"
all=$(mysql --defaults-extra-file="$cnf" --batch --skip-column-names -e 'SHOW DATABASES')
mapfile -t schemas < <(printf '%s\n' "$all" \
    | grep -v -x -e information_schema -e performance_schema -e mysql -e sys || true)
if [ "${#schemas[@]}" -eq 0 ]; then
    echo "kfops-dump: the server holds no database besides its own schemas" >&2
    exit 3
fi
partial="$DUMP_DIR/$DUMP_FILE.partial"
mysqldump --defaults-extra-file="$cnf" --single-transaction --routines --triggers --events \
    --no-tablespaces --databases "${schemas[@]}" | gzip -c > "$partial"
sum=$(sha256sum "$partial" | cut -d ' ' -f 1)
mv "$partial" "$DUMP_DIR/$DUMP_FILE"
printf '%s  %s\n' "$sum" "$DUMP_FILE" > "$DUMP_DIR/$DUMP_FILE.sha256"
size=$(wc -c < "$DUMP_DIR/$DUMP_FILE")
echo "kfops-dump $DUMP_FILE $size $sum $(IFS=,; echo "${schemas[*]}")"
"""

LOAD_SCRIPT = "set -euo pipefail\n" + _CLIENT_CONFIG + r"""
cd "$DUMP_DIR"
sha256sum -c "$DUMP_FILE.sha256" >&2
gunzip -c "$DUMP_FILE" | mysql --defaults-extra-file="$cnf"
echo "kfops-load $DUMP_FILE"
"""

_DUMPED = re.compile(r"^kfops-dump (\S+) (\d+) ([0-9a-f]{64}) (\S*)$", re.MULTILINE)
_LOADED = re.compile(r"^kfops-load (\S+)$", re.MULTILINE)


def live_database(cluster: Cluster, database: Database) -> dict[str, Any] | None:
    """The database's Deployment, or None when the platform does not run it."""
    return cluster.get("apps/v1", "Deployment", database.deployment, database.namespace)


def ensure_claim(cluster: Cluster, namespace: str, platform: str, store: DumpStore) -> None:
    """The claim for dumps in `namespace` (made once; one that exists is used as it is)."""
    if cluster.get("v1", "PersistentVolumeClaim", store.claim, namespace) is not None:
        return
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": store.size}}}
    if store.storage_class is not None:
        spec["storageClassName"] = store.storage_class
    cluster.create({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        # kfops's labels, but never the ApplySet's part-of label: prune must not find it.
        "metadata": {"name": store.claim, "namespace": namespace,
                     "labels": {MANAGED_BY: "kfops", PLATFORM_LABEL: platform,
                                STORE_LABEL: "true"}},
        "spec": spec,
    })


def job_name(database: Database, direction: str) -> str:
    """`kfops-dump-pipelines`, `kfops-load-katib`: fixed, so a re-run finds it."""
    return f"kfops-{direction}-{database.name}"


def database_job(database: Database, deployment: dict[str, Any], *, direction: str,
                 platform: str, backup: str, claim: str, deadline: int) -> dict[str, Any]:
    """The Job that dumps (`direction` "dump") or loads ("load") `database` in the folder
    `backup` of `claim`, shaped after the live `deployment` of the database."""
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    labels = {MANAGED_BY: "kfops", PLATFORM_LABEL: platform}
    pod_labels, annotations = dict(labels), {}
    inject = _sidecar_choice(pod)
    if inject is not None:
        pod_labels[INJECT] = inject
    if inject != "false":
        # In the mesh: a native sidecar ends with the Job's container (Istio >= 1.20 on
        # Kubernetes >= 1.29); a classic one would keep the pod running for ever.
        annotations[NATIVE_SIDECAR] = "true"
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,  # the Job never calls the Kubernetes API
        "containers": [{
            "name": direction,
            "image": container["image"],
            "command": ["bash", "-c", DUMP_SCRIPT if direction == "dump" else LOAD_SCRIPT],
            "env": _env(database, container, backup),
            "volumeMounts": [{"name": "backups", "mountPath": MOUNT},
                             {"name": "scratch", "mountPath": SCRATCH}],
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            **({"securityContext": container["securityContext"]}
               if container.get("securityContext") else {}),
        }],
        "volumes": [{"name": "backups", "persistentVolumeClaim": {"claimName": claim}},
                    {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}],
    }
    if pod["spec"].get("securityContext"):
        spec["securityContext"] = pod["spec"]["securityContext"]
    if database.client_account is not None:
        spec["serviceAccountName"] = database.client_account
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name(database, direction), "namespace": database.namespace,
                     "labels": labels, "annotations": {BACKUP_ANNOTATION: backup}},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline,
            "ttlSecondsAfterFinished": 86400,  # a failed one stays a day for `kubectl logs`
            "template": {"metadata": {"labels": pod_labels,
                                      **({"annotations": annotations} if annotations else {})},
                         "spec": spec},
        },
    }


def _sidecar_choice(pod: dict[str, Any]) -> str | None:
    """The database pod's `sidecar.istio.io/inject` (label or annotation): the Job joins the
    mesh exactly when the database does, so it can reach it."""
    metadata = pod.get("metadata") or {}
    for where in ("labels", "annotations"):
        value = (metadata.get(where) or {}).get(INJECT)
        if value is not None:
            return str(value)
    return None


def _env(database: Database, container: dict[str, Any], backup: str) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "DB_HOST", "value": f"{database.service}.{database.namespace}.svc"},
        {"name": "DB_PORT", "value": str(database.port)},
        {"name": "DUMP_DIR", "value": f"{MOUNT}/{backup}"},
        {"name": "DUMP_FILE", "value": database.dump_file},
        {"name": "SCRATCH", "value": SCRATCH},
    ]
    for entry in container.get("env") or []:
        if entry.get("name") == "MYSQL_ROOT_PASSWORD":
            # The reference (or the plain value the Deployment itself shows), never a value
            # kfops read from a Secret.
            env.append({**entry, "name": "DB_PASSWORD"})
    return env


@dataclass(frozen=True)
class JobOutcome:
    """What a finished Job's container said (its log's last lines)."""

    job: str
    log: str


def run_job(cluster: Cluster, job: dict[str, Any], waits: WaitSettings,
            on_poll: Callable[[list[str]], None] = lambda _: None) -> JobOutcome:
    """Run `job` to its end and return its log; ClusterError naming the Job, its pod's state
    and its log's last lines when it fails or does not end within `waits.timeout`."""
    metadata = job["metadata"]
    name, namespace = metadata["name"], metadata["namespace"]
    existing = cluster.get("batch/v1", "Job", name, namespace)
    if existing is not None and (_backup_of(existing) != _backup_of(job)
                                 or _failed(cluster, existing)):
        _remove(cluster, name, namespace, waits)
        existing = None
    if existing is None:
        cluster.create(job)
    watch = _JobWatch(cluster, name, namespace, waits.failure_grace)
    try:
        wait_for(waits, f"Job {namespace}/{name}", watch.pending, on_poll)
    except WaitTimeout:
        raise ClusterError(f"Job {namespace}/{name} did not finish within "
                           f"{waits.timeout:.0f}s: {watch.account()}", kind="Job",
                           namespace=namespace, name=name) from None
    if watch.failure is not None:
        raise ClusterError(f"Job {namespace}/{name} failed: {watch.failure}", kind="Job",
                           namespace=namespace, name=name)
    return JobOutcome(name, watch.log)


def _backup_of(job: dict[str, Any]) -> str | None:
    return (job["metadata"].get("annotations") or {}).get(BACKUP_ANNOTATION)


def _failed(cluster: Cluster, job: dict[str, Any]) -> bool:
    """Whether an earlier run of the Job failed (then it is run again, not waited for)."""
    status = job.get("status") or {}
    if status.get("failed") or any(c.get("type") == "Failed" and c.get("status") == "True"
                                   for c in status.get("conditions") or []):
        return True
    metadata = job["metadata"]
    return any((pod.get("status") or {}).get("phase") == "Failed" for pod in cluster.list(
        "v1", "Pod", metadata["namespace"], {"job-name": metadata["name"]}))


def _remove(cluster: Cluster, name: str, namespace: str, waits: WaitSettings) -> None:
    """Delete an earlier Job of that name (another backup's), with its pod, and wait until
    it is gone (a create before then is refused)."""
    cluster.delete("batch/v1", "Job", name, namespace, dependents=True)
    wait_for(waits, f"the earlier Job {namespace}/{name} to go",
             lambda: [] if cluster.get("batch/v1", "Job", name, namespace) is None
             else [f"Job {namespace}/{name} is being deleted"])


def remove_job(cluster: Cluster, job: JobOutcome, namespace: str) -> None:
    """Delete a Job that succeeded, with its pod (a failed one is left for inspection)."""
    cluster.delete("batch/v1", "Job", job.job, namespace, dependents=True)


class _JobWatch:
    """Follows a Job's pod to an outcome: succeeded (its log), failed (why), or not yet."""

    def __init__(self, cluster: Cluster, name: str, namespace: str, grace: float) -> None:
        self._cluster, self._name, self._namespace, self._grace = cluster, name, namespace, grace
        self._pod: dict[str, Any] | None = None
        self._failing_since: float | None = None
        self.failure: str | None = None
        self.log = ""

    def pending(self) -> list[str]:
        pods = self._cluster.list("v1", "Pod", self._namespace, {"job-name": self._name})
        if not pods:
            return [f"Job {self._namespace}/{self._name} has no pod yet"]
        pod = self._pod = pods[-1]
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        if phase == "Succeeded":
            self.log = self._log(pod)
            return []
        if phase == "Failed":
            self.failure = self.account()
            return []
        stuck = failing_pod(self._cluster, self._namespace, [pod])
        if stuck is None:
            self._failing_since = None
            return [f"pod {pod['metadata']['name']} is {phase}"]
        now = time.monotonic()
        self._failing_since = self._failing_since or now
        if now - self._failing_since >= self._grace:
            self.failure = f"pod {pod['metadata']['name']}: {stuck.reason} {stuck.message}".strip()
            return []
        return [f"pod {pod['metadata']['name']}: {stuck.reason}"]

    def account(self) -> str:
        """The pod's phase, its container's end or wait, and the last lines of its log."""
        pod = self._pod
        if pod is None:
            return "the Job made no pod (is the Job controller running?)"
        status = pod.get("status") or {}
        parts = [f"pod {pod['metadata']['name']} {status.get('phase') or 'Pending'}"]
        for container in status.get("containerStatuses") or []:
            state = container.get("state") or {}
            ended, waiting = state.get("terminated"), state.get("waiting")
            if ended:
                parts.append(f"{container.get('name')} exited {ended.get('exitCode')} "
                             f"({ended.get('reason') or 'no reason'})")
            elif waiting:
                parts.append(f"{container.get('name')} {waiting.get('reason')}: "
                             f"{waiting.get('message') or ''}".rstrip(": "))
        tail = self._log(pod).strip()
        if tail:
            parts.append("log: " + " | ".join(tail.splitlines()[-10:]))
        return "; ".join(parts)

    def _log(self, pod: dict[str, Any]) -> str:
        try:
            return self._cluster.pod_log(pod["metadata"]["name"], self._namespace, 20)
        except ClusterError:
            return ""  # no log to give (the container never ran): the state says why


def dumped(outcome: JobOutcome, database: Database) -> tuple[int, str, tuple[str, ...]]:
    """Size, SHA-256 and databases from a dump Job's report line."""
    for match in _DUMPED.finditer(outcome.log):
        if match.group(1) == database.dump_file:
            schemas = tuple(s for s in match.group(4).split(",") if s)
            return int(match.group(2)), match.group(3), schemas
    raise ClusterError(f"Job {database.namespace}/{outcome.job} succeeded but did not report "
                       f"its dump (no `kfops-dump {database.dump_file} ...` line in its log)",
                       kind="Job", namespace=database.namespace, name=outcome.job)


def loaded(outcome: JobOutcome, database: Database) -> bool:
    """Whether a load Job reported loading its dump."""
    return any(m.group(1) == database.dump_file for m in _LOADED.finditer(outcome.log))
