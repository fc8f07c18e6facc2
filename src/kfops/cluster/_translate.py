"""The one place where Kubernetes API and transport errors become kfops errors.

lightkube and httpx exception types are never raised out of this package:
callers see the kfops.errors tree, with the object named and, for 403/409/422,
what to do; each error carries the HTTP status and the object's kind, namespace
and name as attributes, and the lightkube or httpx error it came from as its
`__cause__` (raised `from` it), for a traceback or a caller that needs more.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
import time
from typing import Any, NamedTuple

import httpx2 as httpx
from lightkube import ApiError

from kfops.errors import (
    AlreadyExists,
    ClusterError,
    Forbidden,
    InvalidObject,
    ObjectConflict,
    ObjectNotFound,
    Unavailable,
    Unreachable,
)


class Subject(NamedTuple):
    """The object a request is about: its kind, namespace (None: cluster-scoped) and name."""

    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


def translate(error: Exception, what: str, subject: Subject | None = None) -> ClusterError:
    """A kfops error for a failed request about `what` (e.g. `Deployment kubeflow/x`), about
    the object `subject` when the request is about one."""
    if isinstance(error, ApiError):
        return _from_status(error, what, subject)
    if isinstance(error, httpx.TimeoutException):
        return Unavailable(f"{what}: the API server did not answer in time ({error})",
                           **_facts(None, subject))
    if isinstance(error, httpx.TransportError):
        return Unavailable(f"{what}: cannot reach the API server ({error or type(error).__name__})",
                           **_facts(None, subject))
    if isinstance(error, httpx.HTTPStatusError):
        code = error.response.status_code
        facts = _facts(code, subject)
        if code == 429 or code >= 500:
            return Unavailable(f"{what}: HTTP {code}", _retry_after(error.response), **facts)
        if code == 404:
            # No Status body: the server serves no such group/version (a CRD not created,
            # or not established yet), and so holds no such object either.
            return ObjectNotFound(f"{what}: the API server does not serve this kind", **facts)
        return ClusterError(f"{what}: HTTP {code}: {error.response.text[:300]}", **facts)
    raise error


def _facts(status: int | None, subject: Subject | None) -> dict[str, Any]:
    """The attributes every ClusterError carries: HTTP status, and the object's identity."""
    return {"status": status, "kind": subject.kind if subject else None,
            "namespace": subject.namespace if subject else None,
            "name": subject.name if subject else None}


def unreachable(error: Exception, origin: str) -> Unreachable | None:
    """An Unreachable naming `origin` (server and context) when `error` means that no API
    server answers there at all; None for anything a retry may cure."""
    if isinstance(error, httpx.UnsupportedProtocol):
        return Unreachable(f"the API server address {origin} is not an http(s) URL: {error}")
    if not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return None
    cause = _root_cause(error)
    if isinstance(cause, ssl.SSLError):
        why = (f"TLS failed: {getattr(cause, 'verify_message', None) or cause.reason or cause}"
               " (the kubeconfig's certificate-authority does not match the server, or the "
               "server's certificate does not name this address)")
    elif isinstance(cause, socket.gaierror):
        why = ("its host name does not resolve (a typo in the kubeconfig's server, or a VPN or "
               "DNS that is not up)")
    elif isinstance(cause, ConnectionRefusedError):
        why = "connection refused (is the cluster running, and is this its address and port?)"
    elif isinstance(error, httpx.ConnectTimeout):
        why = "no answer to the connection (a firewall, or an address that is not the cluster's)"
    else:
        why = str(error) or type(error).__name__
    return Unreachable(f"cannot reach the API server {origin}: {why}")


def _root_cause(error: BaseException) -> BaseException:
    """The innermost exception (httpx wraps httpcore's, which wraps the socket's or ssl's)."""
    seen = {id(error)}
    while (inner := error.__cause__ or error.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        error = inner
    return error


def _from_status(error: ApiError, what: str, subject: Subject | None) -> ClusterError:
    code = int(error.status.code or error.response.status_code)
    message = error.status.message or error.status.reason or "no message"
    facts = _facts(code, subject)
    if code == 404:
        return ObjectNotFound(f"{what}: {message}", **facts)
    if code == 409 and error.status.reason == "AlreadyExists":
        return AlreadyExists(f"{what}: {message}", **facts)
    if code == 409:
        hint = ("another field manager changed fields kfops sets; kfops applies with force, "
                "so re-run apply, or find who else manages this object"
                if "conflict" in message.lower() else "the object changed meanwhile; re-run")
        return ObjectConflict(f"{what}: {message} ({hint})", **facts)
    if code == 403 and _caused_by(error, "NamespaceTerminating"):
        # The namespace lifecycle admission refuses new objects in a namespace being
        # deleted: not a permission kfops's credentials lack.
        return ClusterError(f"{what}: {message} (its namespace is being deleted; wait until it "
                            "is gone, or remove what holds it: the finalizers of objects left "
                            "in it; then re-run)", **facts)
    if code in (401, 403):
        return Forbidden(f"{what}: {message} (the credentials of your kubeconfig context "
                         "lack this permission; kfops needs cluster-admin to install Kubeflow)",
                         **facts)
    if code in (400, 422):
        return InvalidObject(f"{what}: the API server rejected it: {message} (kfops validated "
                             "it offline, so a rule only the cluster knows refused it: an "
                             "admission policy or webhook, or a different Kubernetes version; "
                             "change the object through platform.yaml, or the cluster's policy)",
                             **facts)
    if code == 429 or code >= 500:
        return Unavailable(f"{what}: {message}", _retry_after(error.response), **facts)
    return ClusterError(f"{what}: HTTP {code}: {message}", **facts)


def _caused_by(error: ApiError, reason: str) -> bool:
    """Whether the Status lists a cause with this reason (details.causes)."""
    details = error.status.details
    return any(cause.reason == reason for cause in (details.causes or [])) if details else False


def _retry_after(response: httpx.Response | None) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    if value.isdigit():
        return float(value)
    parsed = email.utils.parsedate_to_datetime(value)
    return max(0.0, parsed.timestamp() - time.time())
