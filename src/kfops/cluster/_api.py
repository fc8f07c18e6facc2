"""The Kubernetes client boundary: dictionaries in and out, kfops errors, transient retries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
from lightkube import ALL_NS, ApiError, Client, ConfigError
from lightkube.config.client_adapter import Client as http_client
from lightkube.config.client_adapter import ConnectionParams
from lightkube.generic_resource import GenericGlobalResource, GenericNamespacedResource

from kfops.errors import (
    ClusterError,
    Forbidden,
    KubeconfigError,
    ObjectNotFound,
    Unavailable,
)

from ._kinds import KindInfo, Kinds
from ._kubeconfig import choose
from ._retry import RetryPolicy, retrying
from ._translate import Subject, translate, unreachable

FIELD_MANAGER = "kfops"
CRD_API = "apiextensions.k8s.io/v1"
T = TypeVar("T")


@dataclass(frozen=True)
class Discovery:
    """What discovery found: the served kinds, and the group versions it could not read."""

    kinds: tuple[KindInfo, ...]
    unavailable: tuple[str, ...]
    """`group/version (why)` of each group version whose discovery failed."""


class Cluster:
    """One Kubernetes cluster, addressed through a kubeconfig context (or in-cluster config)."""

    def __init__(self, client: Client, http: httpx.Client, retry: RetryPolicy | None = None,
                 origin: str = "(the client's server)") -> None:
        self._lightkube = client
        self._http = http
        """For what lightkube has no call for (/version, discovery): an HTTP client made
        from the same kubeconfig context, with the same server, certificates and
        credentials."""
        self.retry = retry or RetryPolicy()
        self.origin = origin
        """The server, context and kubeconfig, as messages name them."""
        self.kinds = Kinds()
        self._crds_read = False
        self._answered = False
        """Whether the API server has answered once (then a lost connection is transient)."""

    @classmethod
    def connect(cls, kubeconfig: Path | None = None, context: str | None = None,
                retry: RetryPolicy | None = None, timeout: float = 30.0) -> Cluster:
        """A client for `context` of `kubeconfig` (default: the files of $KUBECONFIG merged as
        kubectl merges them, ~/.kube/config, or the in-cluster service account).

        No request is sent yet; the first one fails at once (Unreachable) when no API
        server answers there, see `reach`.
        """
        chosen = choose(kubeconfig, context)
        try:
            client = Client(config=chosen.config, field_manager=FIELD_MANAGER,
                            timeout=httpx.Timeout(timeout))
            http = http_client(chosen.config, ConnectionParams(timeout=httpx.Timeout(timeout)))
        # What lightkube raises reading the files the context names: OSError (a file missing
        # or unreadable, a certificate ssl refuses), ValueError (base64 data that is not),
        # TypeError (a client certificate without its key), ConfigError (an auth-provider).
        except (OSError, ValueError, TypeError, ConfigError) as error:
            raise KubeconfigError(f"cannot use context {chosen.config.context_name} of kubeconfig "
                                  f"{chosen.source}: {error}") from error
        return cls(client, http, retry, chosen.origin)

    def reach(self) -> str:
        """Ask the API server its version (before anything else, so a wrong address, host or
        certificate is reported at once, naming the server and the context); the version."""
        return self.server_version()

    def close(self) -> None:
        """Close the connections to the API server."""
        self._lightkube.close()
        self._http.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def apply(self, obj: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply as field manager `kfops`, taking over conflicting fields."""
        resource = self._instance(obj)
        result = self._call(lambda: self._lightkube.apply(
            resource, field_manager=FIELD_MANAGER, force=True, dry_run=dry_run), _subject(obj))
        return _as_dict(result)

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create `obj` (POST); AlreadyExists when an object of that name exists.

        Unlike apply, a create never merges into an object someone else made first.
        """
        resource = self._instance(obj)
        return _as_dict(self._call(lambda: self._lightkube.create(resource), _subject(obj)))

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace `obj` (PUT); with `metadata.resourceVersion` set, ObjectConflict when the
        object changed since it was read at that version."""
        resource = self._instance(obj)
        return _as_dict(self._call(lambda: self._lightkube.replace(resource), _subject(obj)))

    def get(self, api_version: str, kind: str, name: str,
            namespace: str | None = None) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        resource = self._resource(api_version, kind)
        subject = Subject(kind, namespace, name)
        try:
            found = self._call(lambda: self._lightkube.get(resource, name, namespace=namespace),
                               subject)
        except ObjectNotFound:
            return None
        return _as_dict(found)

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Objects of a kind, in every namespace unless one is given.

        Each with its apiVersion and kind: the API server names them once, on the list,
        not on its items (as client-go's unstructured lists, kfops fills them in).
        """
        resource = self._resource(api_version, kind)
        info = self.kinds.info(api_version, kind)
        where = (namespace or ALL_NS) if info.namespaced else None

        def fetch() -> list[dict[str, Any]]:
            return [{"apiVersion": api_version, "kind": kind, **_as_dict(o)}
                    for o in self._lightkube.list(resource, namespace=where,
                                                  labels=dict(labels) if labels else None)]

        try:
            return self._call(fetch, what=f"{kind} list")
        except ObjectNotFound:
            return []  # the kind is not served (yet): nothing of it exists

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None,
               dry_run: bool = False, *, dependents: bool = False,
               orphan: bool = False) -> bool:
        """Delete an object; False when it was already gone.

        `dependents` deletes what it owns too (a Job's pods: the Job API orphans
        them by default); `orphan` keeps them, without their owner reference
        (https://kubernetes.io/docs/concepts/architecture/garbage-collection/#orphaned-dependents).
        """
        from lightkube.types import CascadeType  # noqa: PLC0415 - only this call needs it

        resource = self._resource(api_version, kind)
        subject = Subject(kind, namespace, name)
        cascade = (CascadeType.ORPHAN if orphan else
                   CascadeType.BACKGROUND if dependents else None)
        try:
            self._call(lambda: self._lightkube.delete(
                resource, name, namespace=namespace, dry_run=dry_run, cascade=cascade), subject)
        except ObjectNotFound:
            return False
        return True

    def merge_patch(self, api_version: str, kind: str, name: str, patch: dict[str, Any],
                    namespace: str | None = None, *, status: bool = False) -> dict[str, Any]:
        """A JSON merge patch (e.g. removing finalizers, restarting a Deployment); `status`
        patches the status subresource (a CRD's storedVersions)."""
        from lightkube.types import PatchType  # noqa: PLC0415 - only this call needs it

        resource = self._resource(api_version, kind)
        if status:
            resource = self.kinds.status_resource(api_version, kind)
        subject = Subject(kind, namespace, name)
        result = self._call(lambda: self._lightkube.patch(
            resource, name, patch, namespace=namespace, patch_type=PatchType.MERGE), subject)
        return _as_dict(result)

    def has_crd(self, name: str) -> bool:
        """Whether the cluster has the CustomResourceDefinition `name` (e.g. a Helm chart's)."""
        return self.get(CRD_API, "CustomResourceDefinition", name) is not None

    def pod_log(self, name: str, namespace: str, tail_lines: int = 50,
                container: str | None = None) -> str:
        """The last lines a pod's container wrote (its only one unless `container` names one).

        ClusterError with the server's message when there is no log to give: the API
        server answers 400 for a container that has not run, or whose node kept no log
        of it (not a refused object: nothing was written).
        """
        what = f"Pod {namespace}/{name} log"
        subject = Subject("Pod", namespace, name)

        def fetch() -> str:
            try:
                return "".join(self._lightkube.log(name, namespace=namespace,
                                                   container=container,
                                                   tail_lines=tail_lines))
            except ApiError as error:
                if int(error.status.code or error.response.status_code) != 400:
                    raise
                self._answered = True
                message = error.status.message or error.status.reason or "no log"
                raise ClusterError(f"{what}: {message}", status=400, kind=subject.kind,
                                   namespace=namespace, name=name) from error

        return self._call(fetch, subject, what)

    def server_version(self) -> str:
        """The API server's Kubernetes version as major.minor, e.g. "1.32"."""
        # lightkube has no call for /version.
        def fetch() -> str:
            answer = self._http.get("/version")
            answer.raise_for_status()
            info = answer.json()
            return f"{info['major']}.{str(info['minor']).rstrip('+')}"

        try:
            return self._call(fetch, what="GET /version")
        except (KeyError, ValueError) as error:
            raise ClusterError(f"the API server's /version answer is not understood: "
                               f"{error}") from error

    def learn_crds(self, crds: Iterable[dict[str, Any]]) -> None:
        """Know the kinds these CRDs define (after they are applied)."""
        for crd in crds:
            self.kinds.learn_crd(crd)

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the kind is built in or defined by a CRD of the bundle or the cluster.

        A custom kind the client has not met yet is looked up among the cluster's
        CRDs (read once), as a fresh process needs.
        """
        if not self.kinds.knows(api_version, kind) and not self._crds_read:
            self._crds_read = True
            self.learn_crds(self.list(CRD_API, "CustomResourceDefinition"))
        return self.kinds.knows(api_version, kind)

    def served_kinds(self) -> tuple[KindInfo, ...]:
        """Every kind the API server serves, each once: in its group's preferred version
        when it has it, else in the first version that has it (discovery:
        https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api).

        Only stored kinds count: subresources (`pods/log`) and kinds that cannot be
        listed and deleted (metrics.k8s.io's views) are left out. Every kind found is
        learned, so it can be listed by apiVersion and kind. A group version whose
        discovery fails raises; `discover` reports it instead.
        """
        found = self.discover()
        if found.unavailable:
            raise ClusterError("discovery failed for " + "; ".join(found.unavailable))
        return found.kinds

    def discover(self) -> Discovery:
        """The served kinds, and the group versions whose discovery failed (an aggregated
        API that is down answers 503; kubectl goes on without them too)."""
        documents = [("", "v1", "/api/v1")]
        for group in self._discovery("/apis").get("groups") or []:
            preferred = (group.get("preferredVersion") or {}).get("version")
            versions = [v["version"] for v in group.get("versions") or []]
            for version in sorted(versions, key=lambda v: v != preferred):
                documents.append((group["name"], version, f"/apis/{group['name']}/{version}"))
        found: dict[tuple[str, str], KindInfo] = {}
        unavailable = []
        for group_name, version, path in documents:
            try:
                resources = self._discovery(path).get("resources") or []
            except (Unavailable, Forbidden) as error:
                unavailable.append(f"{group_name or 'core'}/{version} ({error})")
                continue
            for entry in resources:
                if "/" in entry["name"] or not {"list", "delete"} <= set(entry.get("verbs") or []):
                    continue
                info = KindInfo(group_name, version, entry["kind"], entry["name"],
                                bool(entry.get("namespaced")))
                if (group_name, info.kind) not in found:
                    self.kinds.learn(info)
                    found[(group_name, info.kind)] = info
        return Discovery(tuple(found.values()), tuple(unavailable))

    def _discovery(self, path: str) -> dict[str, Any]:
        # lightkube has no discovery call.
        def fetch() -> dict[str, Any]:
            answer = self._http.get(path)
            if answer.status_code == 404:
                return {}  # a group that went away since /apis was read (a CRD deleted)
            answer.raise_for_status()
            try:
                document = answer.json()
            except ValueError as error:
                raise ClusterError(f"GET {path}: the discovery answer is not JSON",
                                   status=answer.status_code) from error
            return document if isinstance(document, dict) else {}

        return self._call(fetch, what=f"GET {path}")

    def _resource(self, api_version: str, kind: str) -> Any:
        self.serves(api_version, kind)
        return self.kinds.resource(api_version, kind)

    def _instance(self, obj: dict[str, Any]) -> GenericNamespacedResource | GenericGlobalResource:
        resource = self._resource(str(obj["apiVersion"]), str(obj["kind"]))
        return resource.from_dict(obj)  # type: ignore[no-any-return]

    def _call(self, call: Callable[[], T], subject: Subject | None = None,
              what: str | None = None) -> T:
        """`call`, retried as the policy says, its failures as kfops errors about `what`
        (default: the object `subject`)."""
        what = what or str(subject)

        def attempt() -> T:
            try:
                result = call()
            except ApiError as error:
                self._answered = True
                raise translate(error, what, subject) from error
            except httpx.HTTPError as error:
                if isinstance(error, httpx.HTTPStatusError):
                    self._answered = True
                # No answer yet: a wrong address, host or certificate, which no retry cures.
                first = None if self._answered else unreachable(error, self.origin)
                raise (first or translate(error, what, subject)) from error
            self._answered = True
            return result

        return retrying(self.retry, attempt)


def _subject(obj: dict[str, Any]) -> Subject:
    metadata = obj["metadata"]
    return Subject(str(obj["kind"]), metadata.get("namespace") or None, str(metadata["name"]))


def _as_dict(resource: Any) -> dict[str, Any]:
    return dict(resource.to_dict())
