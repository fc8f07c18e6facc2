"""One read of the cluster for doctor: each kind listed once, logs read only when asked.

Rules share the snapshot, so a kind is listed once however many rules read
it (one request per kind, in every namespace). A list the credentials may not
make cluster-wide is made per namespace instead (the platform's and the
profiles'), and what stays refused is recorded (`unreadable`), so the rules
run on what could be read.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from kfops.cluster import Cluster
from kfops.errors import ClusterError, Forbidden, KfopsError

PROFILE_API = "kubeflow.org/v1"
CRD_API = "apiextensions.k8s.io/v1"
LOG_LINES = 200
"""The most lines doctor reads of one container's log."""


class Snapshot:
    """Lists of the live cluster, read once each, and containers' last log lines."""

    def __init__(self, cluster: Cluster, namespaces: Iterable[str] = (),
                 log_lines: int = LOG_LINES, now: datetime | None = None) -> None:
        self._cluster = cluster
        self._namespaces = sorted(set(namespaces))
        self.log_lines = log_lines
        self.now = now or datetime.now(UTC)
        self._lists: dict[tuple[str, str], list[dict[str, Any]] | KfopsError] = {}
        self._logs: dict[tuple[str, str, str], str | None] = {}
        self.unreadable: list[str] = []
        """`<kind> in <namespace>: <why>` for each list the credentials were refused."""

    def list(self, api_version: str, kind: str) -> list[dict[str, Any]]:
        """Every object of the kind the credentials may read ([] when the kind is not served).

        An error reading it is raised again to every rule that asks, without a
        second request.
        """
        key = (api_version, kind)
        if key not in self._lists:
            try:
                self._lists[key] = self._read(api_version, kind)
            except KfopsError as error:
                self._lists[key] = error
        found = self._lists[key]
        if isinstance(found, KfopsError):
            raise found
        return found

    def in_namespace(self, api_version: str, kind: str,
                     namespace: str) -> builtins.list[dict[str, Any]]:
        """The objects of the kind in one namespace."""
        return [o for o in self.list(api_version, kind)
                if (o.get("metadata") or {}).get("namespace") == namespace]

    def find(self, api_version: str, kind: str, name: str,
             namespace: str | None = None) -> dict[str, Any] | None:
        """One object of the kind's list, or None."""
        for obj in self.list(api_version, kind):
            metadata = obj.get("metadata") or {}
            if metadata.get("name") == name and metadata.get("namespace") == namespace:
                return obj
        return None

    def log(self, namespace: str, pod: str, container: str) -> str | None:
        """The last `log_lines` lines of a container (None: it has none, or it may not be read)."""
        key = (namespace, pod, container)
        if key not in self._logs:
            try:
                self._logs[key] = self._cluster.pod_log(pod, namespace, self.log_lines,
                                                        container=container)
            except Forbidden as error:
                self._refused(f"Pod {namespace}/{pod} log", error)
                self._logs[key] = None
            except ClusterError as error:
                if error.status != 400:  # 400: nothing logged yet (not an error of the read)
                    raise
                self._logs[key] = None
        return self._logs[key]

    def _read(self, api_version: str, kind: str) -> builtins.list[dict[str, Any]]:
        if not self._served(api_version, kind):
            return []  # no CRD defines it (Karpenter's NodePool without Karpenter)
        try:
            return self._cluster.list(api_version, kind)
        except Forbidden as denied:
            if not self._namespaces or not self._cluster.kinds.info(api_version, kind).namespaced:
                raise
            everywhere = denied
        found: builtins.list[dict[str, Any]] = []
        refused = 0
        namespaces = sorted(self.watched_namespaces())
        for namespace in namespaces:
            try:
                found += self._cluster.list(api_version, kind, namespace)
            except Forbidden as error:
                refused += 1
                self._refused(f"{kind} in {namespace}", error)
        if refused == len(namespaces):
            raise everywhere  # not one namespace could be read: the rule cannot judge
        return found

    def _served(self, api_version: str, kind: str) -> bool:
        """Whether the kind is built in or a CRD defines it, from the snapshot's own CRD list
        (the client would otherwise list the CRDs again to learn them)."""
        if self._cluster.kinds.knows(api_version, kind):
            return True
        self._cluster.learn_crds(self.list(CRD_API, "CustomResourceDefinition"))
        return self._cluster.kinds.knows(api_version, kind)

    def profile_namespaces(self) -> frozenset[str]:
        """The namespaces of the live Profiles (a Profile's namespace has its name), those
        being deleted left out."""
        return frozenset(str(p["metadata"]["name"]) for p in self.list(PROFILE_API, "Profile")
                         if not p["metadata"].get("deletionTimestamp"))

    def watched_namespaces(self) -> set[str]:
        """The platform's namespaces and the profiles' (Profiles that cannot be listed leave
        the platform's alone)."""
        try:
            profiles = self.profile_namespaces()
        except KfopsError:
            profiles = frozenset()
        return {*self._namespaces, *profiles}

    def _refused(self, what: str, error: ClusterError) -> None:
        self.unreadable.append(f"{what}: {error}")


def parse_time(text: object) -> datetime | None:
    """An object's timestamp (RFC 3339, as the API server writes them), None when missing or
    not one."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
