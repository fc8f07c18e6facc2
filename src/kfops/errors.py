"""The kfops exception tree.

Every error kfops raises on purpose derives from :class:`KfopsError`; the CLI
maps each branch to a message and an exit code (2: bad input, nothing was
touched; 1: the operation failed). An error made from another library's (an
OSError, an httpx or lightkube error) is raised from it, so it is the
`__cause__`; only where that cause would hold a secret's bytes, or adds nothing
to the message, is it left out (each such place says why)::

    KfopsError
    ├── InputError                 exit 2: the user's input is wrong
    │   ├── ConfigError            platform.yaml problems, each with YAML path and line
    │   ├── ComponentSelectionError  a component switched off that another needs
    │   ├── KubeconfigError        no kubeconfig, an unreadable one, or a context it lacks
    │   └── ValidationError        rendered objects that fail schema or policy checks
    └── OperationError             exit 1: the input is fine, the work failed
        ├── Busy                   another kfops command holds the platform file or the install
        ├── ReleaseSourceError     release checkout/archive missing or unreadable
        ├── RemoteBaseError        a remote kustomize base not cached and not fetchable
        ├── KustomizeError         kustomize missing, too old, or a build failed
        ├── RenderError            objects conflict, bundle cannot be written
        ├── SkopeoError            skopeo is missing, or a copy or inspection failed
        ├── BundleArchiveError     the offline bundle cannot be written or read
        ├── StateError             the state directory cannot be read or written safely
        ├── SecretUnavailable      a secret reference's variable or file cannot be read
        └── ClusterError           the Kubernetes API refused or could not be reached;
            │                      carries the HTTP status and the object (kind, namespace,
            │                      name), each None when there is none
            ├── ObjectNotFound     404
            ├── ObjectConflict     409 (stale version, or fields another manager owns)
            │   └── AlreadyExists  409 on create: an object of that name exists
            ├── Forbidden          401/403: which permission is missing
            ├── InvalidObject      400/422: the API server rejected an object
            ├── Unavailable        429, 5xx, connection and timeout errors (retryable)
            ├── Unreachable        the first request found no API server (refused, unknown
            │                      host, TLS failure): not retried; names server and context
            ├── MissingPrerequisite  something installed outside kfops (Helm) is missing
            ├── WaitTimeout        a wait gave up; says what was not ready and why
            ├── WorkloadFailed     a workload's pods cannot start by themselves (image pull,
            │                      crash loop, missing config, no node): reason, last event
            ├── DataProtected      a deletion would lose data; nothing was deleted
            ├── AnotherInstall     another kfops install holds the cluster (--adopt)
            └── DeletionsFailed    prune or uninstall could not delete some objects: each
                                   with its reason (every other deletion was tried)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AlreadyExists",
    "AnotherInstall",
    "BundleArchiveError",
    "Busy",
    "ClusterError",
    "ComponentSelectionError",
    "ConfigError",
    "ConfigProblem",
    "DataProtected",
    "DeletionsFailed",
    "Forbidden",
    "InputError",
    "InvalidObject",
    "KfopsError",
    "KubeconfigError",
    "KustomizeError",
    "MissingPrerequisite",
    "ObjectConflict",
    "ObjectNotFound",
    "OperationError",
    "ReleaseSourceError",
    "RemoteBaseError",
    "RenderError",
    "SecretUnavailable",
    "SkopeoError",
    "StateError",
    "Unavailable",
    "Unreachable",
    "ValidationError",
    "ValidationProblem",
    "WaitTimeout",
    "WorkloadFailed",
]


class KfopsError(Exception):
    """Root of every error kfops raises on purpose."""

    exit_code: int = 1

    def lines(self) -> list[str]:
        """The message as the lines the CLI prints, then any notes added on the way up."""
        return (str(self).splitlines() or [type(self).__name__]) + list(
            getattr(self, "__notes__", []))


class InputError(KfopsError):
    """Bad input: nothing was changed anywhere."""

    exit_code = 2


class OperationError(KfopsError):
    """The input was valid but the operation failed."""

    exit_code = 1


@dataclass(frozen=True, order=True)
class ConfigProblem:
    """One problem in the platform file, located by file, line and YAML path."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(InputError):
    """The platform file is invalid; carries one problem per mistake."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class ComponentSelectionError(InputError):
    """A selection of components that cannot be installed together.

    Carries (component key, reason) pairs so the caller can locate each in the file.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"spec.components.{key}: {why}" for key, why in problems))


@dataclass(frozen=True)
class ValidationProblem:
    """One object that fails a check: `kind namespace/name: field path: problem`."""

    object_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.object_id}: {self.field or '(object)'}: {self.message}"


class KubeconfigError(InputError):
    """No kubeconfig, an unreadable one, or a context (--context) it does not define."""


class ValidationError(InputError):
    """Rendered objects failed schema or policy validation."""

    def __init__(self, problems: list[ValidationProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Busy(OperationError):
    """Another kfops command holds the platform file's lock or the install's Lease (--no-wait)."""


class ReleaseSourceError(OperationError):
    """The Kubeflow release could not be found, downloaded or read."""


class RemoteBaseError(OperationError):
    """A remote kustomize base is neither cached nor fetchable."""


class KustomizeError(OperationError):
    """kustomize is missing, too old, or failed to build a path."""


class RenderError(OperationError):
    """The render could not produce a consistent bundle."""


class SkopeoError(OperationError):
    """skopeo is missing, or a copy or inspection failed (the message has skopeo's reason)."""


class BundleArchiveError(OperationError):
    """The offline bundle could not be written or read."""


class StateError(OperationError):
    """The state directory cannot be read or written safely."""


class SecretUnavailable(OperationError):
    """A referenced secret could not be read (the message never holds the value)."""


class UpgradeBlocked(OperationError):
    """An upgrade's gates stopped it before any write (each names what to do)."""


class ClusterError(OperationError):
    """The Kubernetes API refused a request or could not be reached.

    `status` is the HTTP status of the API server's answer (None when there was
    none: no connection, a timeout, or a failure kfops found itself); `kind`,
    `namespace` and `name` name the object the request was about (all None when it
    was about no single object; `namespace` None too for a cluster-scoped one).
    """

    def __init__(self, message: str, *, status: int | None = None, kind: str | None = None,
                 namespace: str | None = None, name: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.namespace = namespace
        self.name = name


class ObjectNotFound(ClusterError):
    """An object (or its namespace, or its kind) does not exist."""


class ObjectConflict(ClusterError):
    """A stale resourceVersion, or fields another field manager owns."""


class AlreadyExists(ObjectConflict):
    """A create found an object of that name: someone else created it first."""


class Forbidden(ClusterError):
    """The credentials lack a permission (the message names it)."""


class InvalidObject(ClusterError):
    """The API server rejected an object as invalid."""


class Unavailable(ClusterError):
    """A transient failure: throttling, a server error, a dropped connection, a timeout."""

    def __init__(self, message: str, retry_after: float | None = None, *,
                 status: int | None = None, kind: str | None = None,
                 namespace: str | None = None, name: str | None = None) -> None:
        super().__init__(message, status=status, kind=kind, namespace=namespace, name=name)
        self.retry_after = retry_after


class Unreachable(ClusterError):
    """The first request found no API server: connection refused, a host that does not
    resolve, a TLS failure. A wrong address or certificate does not heal, so it is not retried
    (a connection lost later in a run is Unavailable, and is)."""


class MissingPrerequisite(ClusterError):
    """The cluster lacks something installed outside kfops (e.g. a Helm chart); nothing changed."""


class WaitTimeout(ClusterError):
    """Something did not become ready in time; the message lists what and why."""


class WorkloadFailed(ClusterError):
    """A workload's pods cannot become ready by themselves (an image that cannot be pulled, a
    crash loop, a missing ConfigMap or Secret, no node that fits); the message names each
    workload, the reason and its last event."""


class DataProtected(ClusterError):
    """Deleting would lose data (PVCs, Profiles, CRDs with instances); nothing was deleted."""


class AnotherInstall(ClusterError):
    """The cluster holds another kfops install (another ApplySet parent); nothing changed."""


class DeletionsFailed(ClusterError):
    """Prune or uninstall tried every deletion it could, and some failed.

    `failures` holds each failed object's error (its kind, namespace, name and status
    with it); `held_back` the objects not tried because deleting them would take a
    failed one along (`what: why`). One failure and nothing held back reads as that
    failure, and carries its status and object.
    """

    def __init__(self, failures: list[ClusterError], held_back: list[str]) -> None:
        self.failures = failures
        self.held_back = held_back
        if len(failures) == 1 and not held_back:
            only = failures[0]
            super().__init__(str(only), status=only.status, kind=only.kind,
                             namespace=only.namespace, name=only.name)
            return
        lines = [f"{len(failures)} of the deletions failed (every other one was tried):"]
        lines += [f"  {line}" for error in failures for line in str(error).splitlines()]
        lines += [f"  not tried: {why}" for why in held_back]
        lines.append("the install still records them, so the next run tries them again")
        super().__init__("\n".join(lines))
