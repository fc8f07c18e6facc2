"""kmock's Kubernetes emulator, extended with the API-server rules kfops relies on (_state)."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp.web
import attrs
import yaml
from kmock import KubernetesEmulator, KubernetesError, ResourceInfo, Server

from ._faults import FaultPlan
from ._state import (
    JOB_ORPHANS_WARNING,
    PROPAGATION,
    ApiError,
    ApiState,
    Kind,
    Record,
    Settings,
    default_propagation,
)


def bundled_kinds() -> list[Kind]:
    """The built-in resources kmock ships (from a real cluster's discovery documents)."""
    data = (resources.files("kmock._internal") / "resources.json.gz").read_bytes()
    kinds = []
    for document in json.loads(gzip.decompress(data)):
        group, _, version = document["groupVersion"].rpartition("/")
        for entry in document["resources"]:
            if "/" not in entry["name"]:
                kinds.append(Kind(group, version, entry["name"], entry["kind"],
                                  bool(entry.get("namespaced"))))
    return kinds


@attrs.define(kw_only=True)
class Emulator(KubernetesEmulator):
    """A kmock emulator whose resource requests go through :class:`ApiState`."""

    state: ApiState
    faults: FaultPlan
    lock: threading.Lock

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """Resource URLs are served by the state; discovery and the rest by kmock.

        Resource requests bypass kmock's request parsing, which cannot read
        a list of namespaces (`/api/v1/namespaces`).
        """
        self._publish_kinds()
        method = raw.method.upper()
        dry_run = raw.query.get("dryRun") == "All"
        # Every request is recorded, discovery and /version included, so that a test can
        # count what a command asked and prove it wrote nothing.
        record = Record(method, raw.path, dry_run, query=raw.query_string)
        with self.lock:
            self.state.requests.append(record)
        if raw.path == "/version":
            major, minor = self.state.settings.server_version.split(".")
            record.status = 200
            return _json({"major": major, "minor": minor,
                          "gitVersion": f"v{major}.{minor}.0", "platform": "linux/amd64"})
        path = _parse_path(raw.path)
        if path is None:
            served = await super().__call__(raw)
            record.status = served.status
            return served
        fault = self.faults.next_fault(method)
        if fault is not None:
            response = await self._inject(fault, raw)
            if response is not None:
                record.status = response.status
                return response
        text = (await raw.read()).decode() if raw.can_read_body else ""
        with self.lock:
            plain = self.state.answers_plainly(path.group, path.version, path.plural)
        if plain:
            # A resource of a group that is not built in, which no CRD serves in that version,
            # reaches the generic API server's NotFound handler: plain text, not a Status
            # (seen on kube-apiserver v1.35.4; tests/realcluster/test_conformance.py holds
            # both to it).
            record.status = 404
            return aiohttp.web.Response(status=404, text="404 page not found\n",
                                        content_type="text/plain")
        try:
            with self.lock:
                self.state.run_controllers()
                if path.subresource == "log" and path.plural == "pods" and method == "GET":
                    log = self._pod_log(raw, path)
                    record.status = 204 if log is None else 200
                    if log is None:  # no node to ask yet: the API server answers nothing
                        return aiohttp.web.Response(status=204)
                    return aiohttp.web.Response(text=log, content_type="text/plain")
                body, status = self._serve(raw, path, method, dry_run, text)
                warning = self._warning(path, method, raw, text)
        except ApiError as error:
            record.status = error.status
            return _status(error.status, error.reason, error.message, details=error.details)
        record.status = status
        return _json(body, status=status, headers={"Warning": warning} if warning else None)

    def _pod_log(self, raw: aiohttp.web.BaseRequest, path: ResourcePath) -> str | None:
        """GET .../pods/NAME/log: authorized as `pods/log`, its options read and checked as
        the API server reads PodLogOptions."""
        name = path.name or ""
        self.state.authorize("get", "pods", path.namespace, "", name, subresource="log")
        tail = raw.query.get("tailLines")
        tail_lines = None
        if tail is not None:
            try:
                tail_lines = int(tail)
            except ValueError:
                raise ApiError(400, "BadRequest",
                               f'strconv.ParseInt: parsing "{tail}": invalid syntax') from None
            if tail_lines < 0:
                detail = f"Invalid value: {tail_lines}: must be greater than or equal to 0"
                raise ApiError(422, "Invalid", f'PodLogOptions "{name}" is invalid: '
                                               f"tailLines: {detail}", {
                    "name": name, "kind": "PodLogOptions", "causes": [
                        {"reason": "FieldValueInvalid", "message": detail,
                         "field": "tailLines"}]})
        previous = raw.query.get("previous", "") in ("1", "t", "T", "true", "TRUE", "True")
        return self.state.pod_log(path.namespace, name, raw.query.get("container", ""),
                                  previous, tail_lines)

    def _warning(self, path: ResourcePath, method: str, raw: aiohttp.web.BaseRequest,
                 text: str) -> str | None:
        """The Warning header of a DELETE that orphans a Job's pods by default."""
        if method != "DELETE" or (path.group, path.plural) != ("batch", "jobs") or not path.name:
            return None
        return JOB_ORPHANS_WARNING if _propagation(raw, text) is None else None

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, KubernetesError):
            return _status(exc.status, exc.reason or "Error", exc.message or repr(exc))
        return _status(500, "InternalError", repr(exc))

    async def _inject(self, fault: Any,
                      raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse | None:
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            return None
        if fault.kind == "429":
            return _status(429, "TooManyRequests", "the server is throttling requests",
                           {"Retry-After": str(fault.retry_after)})
        if fault.kind == "500":
            return _status(500, "InternalError", "injected server error")
        transport = raw.transport  # drop: close the connection without an answer
        if transport is not None:
            transport.close()
        return aiohttp.web.Response(status=500)

    def _serve(self, raw: aiohttp.web.BaseRequest, path: ResourcePath, method: str,
               dry_run: bool, text: str) -> tuple[Any, int]:
        state = self.state
        state.authorize(_verb(method, path.name), path.plural, path.namespace, path.group,
                        path.name)
        kind = state.kind(path.group, path.plural, path.version)
        # Every object is answered in the version the URL asks for (a CRD's versions convert
        # with strategy None: only apiVersion changes).
        api_version = f"{kind.group}/{kind.version}" if kind.group else kind.version
        namespace, name = path.namespace, path.name
        if path.subresource == "status" and name is not None:
            return {**self._status_subresource(raw, kind, name, dry_run, text),
                    "apiVersion": api_version}, 200
        if path.subresource:
            raise ApiError(404, "NotFound", f"subresource {path.subresource} is not emulated")
        if method == "GET" and name is None:
            items = state.list(kind, namespace, raw.query.get("labelSelector", ""),
                               raw.query.get("fieldSelector", ""))
            return {"apiVersion": api_version, "kind": f"{kind.kind}List",
                    "metadata": {"resourceVersion": "1"},
                    "items": [_listed(item, api_version, (kind.group, kind.plural) in state.builtin)
                              for item in items]}, 200
        body, status = self._write(raw, kind, (namespace, name), dry_run=dry_run, text=text)
        return {**body, "apiVersion": api_version}, status

    def _status_subresource(self, raw: aiohttp.web.BaseRequest, kind: Kind, name: str,
                            dry_run: bool, text: str) -> dict[str, Any]:
        """GET, PUT, merge PATCH and apply of `.../NAME/status` (CRDs only: storedVersions)."""
        method = raw.method.upper()
        if method == "GET":
            if (kind.group, kind.plural) != ("apiextensions.k8s.io",
                                             "customresourcedefinitions"):
                raise ApiError(404, "NotFound", "subresource status is not emulated")
            return self.state.get(kind, "", name)
        request = {"PUT": "update", "PATCH": "patch"}.get(method)
        if request is None:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported")
        if "apply-patch" in raw.headers.get("Content-Type", ""):
            if not raw.query.get("fieldManager"):
                raise ApiError(422, "Invalid", "fieldManager is required for apply")
            request = "apply"
        return self.state.write_status(kind, name, _body(text), request=request,
                                       dry_run=dry_run)

    def _write(self, raw: aiohttp.web.BaseRequest, kind: Kind, where: tuple[str, str | None], *,
               dry_run: bool, text: str) -> tuple[dict[str, Any], int]:
        """GET of one object (namespace, name), or a write; the object and the status code."""
        state = self.state
        method = raw.method.upper()
        namespace, name = where
        if method == "GET" and name is not None:
            return state.get(kind, namespace, name), 200
        body = _body(text) if method != "DELETE" else {}
        if method == "POST":
            return state.create(kind, namespace or _namespace(body), body, dry_run,
                                raw.query.get("fieldManager") or ""), 201
        if name is None:
            raise ApiError(405, "MethodNotAllowed", f"{method} needs an object's name")
        if method == "PUT":
            return state.replace(kind, namespace, name, body, dry_run), 200
        if method == "PATCH":
            content = raw.headers.get("Content-Type", "")
            if "apply-patch" in content:
                manager = raw.query.get("fieldManager") or ""
                if not manager:
                    raise ApiError(422, "Invalid", "fieldManager is required for apply")
                existed = state.exists(kind, namespace, name)
                return state.apply(kind, namespace, name, body, manager=manager,
                                   force=raw.query.get("force") == "true",
                                   dry_run=dry_run), 200 if existed else 201
            return state.merge_patch(kind, namespace, name, body, dry_run), 200
        if method == "DELETE":
            policy = _propagation(raw, text) or default_propagation(kind)
            return state.delete(kind, namespace, name, dry_run, policy), 200
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported")

    def _publish_kinds(self) -> None:
        """Keep kmock's discovery documents in step with the kinds the state serves."""
        with self.lock:
            kinds = {(k.group, k.version, k.plural): k for k in self.state.kinds()}
        published = {(r.group, r.version, r.plural) for r in self.resources}
        if published == set(kinds):
            return
        for group, version, plural in published - set(kinds):
            del self.resources[_resource_key(group, version, plural)]  # its CRD was deleted
        for key in set(kinds) - published:
            kind = kinds[key]
            self.resources[_resource_key(*key)] = ResourceInfo(
                kind=kind.kind, namespaced=kind.namespaced, singular=kind.kind.lower(),
                verbs={"create", "delete", "get", "list", "patch", "update", "watch"})


def _resource_key(group: str | None, version: str | None, plural: str | None) -> str:
    return f"{group}/{version}/{plural}" if group else f"{version}/{plural}"


@dataclass(frozen=True)
class ResourcePath:
    """What a resource URL names."""

    group: str
    version: str
    plural: str
    namespace: str
    name: str | None
    subresource: str | None


def _parse_path(path: str) -> ResourcePath | None:
    """`/api/v1/...` or `/apis/<group>/<version>/...`, or None for discovery URLs."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    plural, name, subresource = [*rest, None, None][:3]
    return ResourcePath(group, version, str(plural), namespace, name, subresource)


def _listed(item: dict[str, Any], api_version: str, builtin: bool) -> dict[str, Any]:
    """A list's item: built-in kinds' items carry no apiVersion or kind (the list has them);
    custom resources' items keep both, in the version the list was asked in."""
    if builtin:
        return {k: v for k, v in item.items() if k not in ("apiVersion", "kind")}
    return {**item, "apiVersion": api_version}


def _propagation(raw: aiohttp.web.BaseRequest, text: str) -> str | None:
    """The DeleteOptions' propagation policy, from the query or the body (`orphanDependents`
    is the older spelling of Orphan); None when the request names none. A value that is not
    Foreground, Background or Orphan, or both spellings at once, is a 422 as the API server
    answers it (seen on kube-apiserver v1.35.4)."""
    options = _body(text) if text.strip() else {}
    policy = raw.query.get("propagationPolicy") or options.get("propagationPolicy")
    orphan = raw.query.get("orphanDependents") or options.get("orphanDependents")
    if isinstance(orphan, str):
        orphan = orphan == "true"
    if policy is not None and policy not in PROPAGATION:
        _invalid_options("FieldValueNotSupported",
                         f'Unsupported value: "{policy}": supported values: "Foreground", '
                         '"Background", "Orphan", "nil"')
    if policy is not None and orphan is not None:
        _invalid_options("FieldValueInvalid", f'Invalid value: "{policy}": orphanDependents '
                                              "and deletionPropagation cannot be both set")
    if orphan is not None:
        return "Orphan" if orphan else "Background"
    return str(policy) if policy else None


def _invalid_options(reason: str, detail: str) -> None:
    raise ApiError(422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: '
                                   f"propagationPolicy: {detail}", {
        "group": "meta.k8s.io", "kind": "DeleteOptions",
        "causes": [{"reason": reason, "message": detail, "field": "propagationPolicy"}]})


def _verb(method: str, name: str | None) -> str:
    """The authorization verb of a request (server-side apply is `patch`)."""
    if method == "GET":
        return "get" if name else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
        method, method.lower())


def _body(text: str) -> dict[str, Any]:
    try:
        loaded = json.loads(text or "{}")
    except ValueError:
        loaded = yaml.load(text, Loader=yaml.CSafeLoader)  # apply patches may be YAML
    if not isinstance(loaded, dict):
        raise ApiError(400, "BadRequest", "the request body is not an object")
    return loaded


def _json(body: Any, status: int = 200,
          headers: dict[str, str] | None = None) -> aiohttp.web.Response:
    # Exactly "application/json", as the API server sends it: clients (lightkube) compare
    # the header verbatim before reading a Status body.
    return aiohttp.web.Response(body=json.dumps(body).encode(), status=status,
                                headers={"Content-Type": "application/json", **(headers or {})})


def _status(code: int, reason: str, message: str, headers: dict[str, str] | None = None,
            details: dict[str, Any] | None = None) -> aiohttp.web.Response:
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "code": code, "reason": reason, "message": message}
    if details is not None:
        status["details"] = details
    return _json(status, code, headers)


def _namespace(body: dict[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("namespace") or "")


@dataclass
class RunningEmulator:
    """An emulator served on 127.0.0.1 from a background thread (for tests and the CLI)."""

    settings: Settings
    faults: FaultPlan
    port: int = 0
    start_from: ApiState | None = None
    """A cluster to serve a copy of (its objects; these settings), instead of a new one."""

    def __post_init__(self) -> None:
        self.state = self.start_from.clone(self.settings) if self.start_from is not None \
            else ApiState(bundled_kinds(), self.settings)
        self.lock = threading.Lock()
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._failure: BaseException | None = None

    def __enter__(self) -> RunningEmulator:
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._failure is not None:
            raise RuntimeError("the emulator did not start") from self._failure
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def write_kubeconfig(self, path: Path, context: str = "emulator") -> Path:
        """A kubeconfig whose current context points at this emulator."""
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": "emulator"}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context,
                                                       "namespace": "default"}}],
        }))
        return path

    def writes(self, dry_run: bool = False, leases: bool = False) -> list[Record]:
        """The write requests (POST, PUT, PATCH, DELETE) served so far.

        Writes of Leases (every apply and uninstall takes and gives back its
        install's Lease) are left out unless `leases`.
        """
        with self.lock:
            return [r for r in self.state.requests
                    if r.method in ("POST", "PUT", "PATCH", "DELETE") and r.dry_run == dry_run
                    and (leases or "/apis/coordination.k8s.io/" not in r.path)]

    def non_reads(self) -> list[Record]:
        """Every request served so far that is not a GET or HEAD: writes of any kind, dry runs
        and Leases included (what a read-only command must never send)."""
        with self.lock:
            return [r for r in self.state.requests if r.method not in ("GET", "HEAD")]

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as failure:  # reported to the starting thread
            self._failure = failure
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        handler = Emulator(state=self.state, faults=self.faults, lock=self.lock)
        async with handler, Server(handler, port=self.port or None) as server:
            self.url = f"http://{server.host}:{server.port}"
            self._ready.set()
            await self._stop.wait()
