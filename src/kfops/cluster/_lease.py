"""One kfops operation at a time per install: the Lease `kfops-<platform>` in kube-system.

`apply` and `uninstall` hold it for their whole run, as Helm refuses a second
operation on a release while one is in progress. The Lease
(coordination.k8s.io/v1, https://kubernetes.io/docs/concepts/architecture/leases/)
names its holder (`user@host pid N`), when it was acquired and last renewed,
and for how long it holds without a renewal. A background thread renews it.

The API server never expires a Lease; its candidates do. A candidate takes a
Lease over when its holder is gone: cleared on release, or not renewed for
`leaseDurationSeconds`, by the candidate's clock (renewTime is the holder's),
or, should the clocks disagree, unchanged for that long while the candidate
watched. Every write names the resourceVersion it read, so of two candidates
only one can take it; the other sees a holder again.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from kfops.errors import AlreadyExists, Busy, ClusterError, ObjectConflict

from ._api import Cluster

LEASE_API = "coordination.k8s.io/v1"
NAMESPACE = "kube-system"
_MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class LeaseSettings:
    """How the install's Lease is held and waited for (seconds)."""

    duration: float = 60.0
    """How long the Lease holds without a renewal (its leaseDurationSeconds)."""
    renew: float = 15.0
    """Time between renewals."""
    poll: float = 2.0
    """Time between looks at a Lease someone else holds."""
    wait: bool = True
    """Wait for a held Lease; False: Busy at once, naming the holder (--no-wait)."""


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds an install's Lease, and since when."""

    identity: str
    acquired: datetime | None
    renewed: datetime | None
    duration: float

    def __str__(self) -> str:
        since = _shown(self.acquired) if self.acquired else "an unknown time"
        text = f"{self.identity} since {since}"
        if self.renewed is not None:
            age = max(0, round((_now() - self.renewed).total_seconds()))
            text += f" (renewed {age} s ago; it lapses {round(self.duration)} s after a renewal)"
        return text

    def lapsed(self, now: datetime) -> bool:
        """Whether the holder stopped renewing it for longer than it lasts."""
        return self.renewed is None or (now - self.renewed).total_seconds() > self.duration


LeaseNotice = Callable[[LeaseHolder], None]
"""Told once when a run starts waiting for the holder."""


def lease_name(platform: str) -> str:
    """The name of an install's Lease (in kube-system)."""
    return f"kfops-{platform}"


def holder_identity() -> str:
    """`user@host pid N`: who this process is, as the Lease shows it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's random user)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


class InstallLease:
    """Holds the Lease of one install while the `with` block runs, renewing it meanwhile."""

    def __init__(self, cluster: Cluster, platform: str, settings: LeaseSettings | None = None,
                 on_wait: LeaseNotice | None = None) -> None:
        self._cluster = cluster
        self._name = lease_name(platform)
        self._settings = settings or LeaseSettings()
        self._on_wait = on_wait
        self._identity = holder_identity()
        self._held: dict[str, Any] | None = None
        self._lost: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._renewer = threading.Thread(target=self._renew_until_stopped, daemon=True,
                                         name=f"renew {self._name}")
        self.remove_on_release = False
        """Delete the Lease instead of clearing it (the install is gone: uninstall)."""

    def __enter__(self) -> InstallLease:
        self._held = self._acquire()
        self._renewer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        self._renewer.join()
        self._release()

    def check(self) -> None:
        """Raise Busy when another run took the Lease over (this one could not renew it)."""
        with self._lock:
            lost = self._lost
        if lost:
            raise Busy(lost)

    # ---- taking it ---------------------------------------------------------------------

    def _acquire(self) -> dict[str, Any]:
        watch = _Watch()
        while True:
            live = self._cluster.get(LEASE_API, "Lease", self._name, NAMESPACE)
            if live is None:
                taken = self._create()
            else:
                holder = holder_of(live)
                unchanged_for = watch.unchanged_for(live)
                if holder is None or holder.lapsed(_now()) or unchanged_for > holder.duration:
                    taken = self._take_over(live)
                else:
                    self._wait_for(holder, first=not watch.told)
                    watch.told = True
                    taken = None
            if taken is not None:
                return taken
            time.sleep(self._settings.poll)

    def _wait_for(self, holder: LeaseHolder, first: bool) -> None:
        """Busy with --no-wait; else tell once whom this run waits for."""
        if not self._settings.wait:
            raise Busy(f"another kfops operation is in progress on this install: Lease "
                       f"{NAMESPACE}/{self._name} is held by {holder}; nothing was changed "
                       "(leave out --no-wait to wait for it)")
        if first and self._on_wait is not None:
            self._on_wait(holder)

    def _create(self) -> dict[str, Any] | None:
        try:
            return self._cluster.create(self._lease(transitions=0))
        except AlreadyExists:
            return None  # another candidate was first: look again

    def _take_over(self, live: dict[str, Any]) -> dict[str, Any] | None:
        spec = live.get("spec") or {}
        lease = self._lease(transitions=int(spec.get("leaseTransitions") or 0) + 1)
        lease["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        try:
            return self._cluster.replace(lease)
        except ObjectConflict:
            return None  # another candidate was first: look again

    def _lease(self, transitions: int) -> dict[str, Any]:
        now = _microtime(_now())
        return {"apiVersion": LEASE_API, "kind": "Lease",
                "metadata": {"name": self._name, "namespace": NAMESPACE,
                             "labels": {"app.kubernetes.io/managed-by": "kfops"}},
                "spec": {"holderIdentity": self._identity,
                         "leaseDurationSeconds": max(1, round(self._settings.duration)),
                         "acquireTime": now, "renewTime": now,
                         "leaseTransitions": transitions}}

    # ---- keeping it --------------------------------------------------------------------

    def _renew_until_stopped(self) -> None:
        # Give up while the Lease is still ours (as client-go's renew deadline does): others
        # may take it once `duration` has passed, and this thread only looks every `renew`.
        deadline = max(self._settings.renew, self._settings.duration - 2 * self._settings.renew)
        last = time.monotonic()
        while not self._stop.wait(self._settings.renew):
            try:
                self._renew()
                last = time.monotonic()
            except ObjectConflict:
                self._lose("another run changed it")
                return
            except ClusterError as error:
                if time.monotonic() - last > deadline:
                    self._lose(f"it could not be renewed for {round(deadline)} s ({error})")
                    return
            except Exception as error:  # a renewer that died must still stop the run
                self._lose(f"renewing it failed ({type(error).__name__}: {error})")
                return

    def _renew(self) -> None:
        held = self._held
        assert held is not None  # set before the thread starts
        renewed = {**_body(held), "spec": {**held["spec"], "renewTime": _microtime(_now())}}
        try:
            self._held = self._cluster.replace(renewed)
        except ObjectConflict:
            live = self._cluster.get(LEASE_API, "Lease", self._name, NAMESPACE)
            if live is None or (live.get("spec") or {}).get("holderIdentity") != self._identity:
                raise
            self._held = live  # a renewal whose answer was lost and was sent again

    def _lose(self, why: str) -> None:
        with self._lock:
            self._lost = (f"this run lost the install's Lease {NAMESPACE}/{self._name}: {why}; "
                          "another kfops run may be changing the install now. Run this "
                          "command again when it is done")

    # ---- giving it back ----------------------------------------------------------------

    def _release(self) -> None:
        """Clear the holder (or delete the Lease), unless another run holds it by now."""
        held = self._held
        if held is None or self._lost:
            return
        try:
            if self.remove_on_release:
                self._cluster.delete(LEASE_API, "Lease", self._name, NAMESPACE)
                return
            spec = {k: v for k, v in held["spec"].items()
                    if k not in ("holderIdentity", "acquireTime", "renewTime")}
            self._cluster.replace({**_body(held), "spec": spec})
        except ClusterError:
            pass  # unreachable or taken over: it lapses after leaseDurationSeconds anyway


@dataclass
class _Watch:
    """What a waiting candidate saw: a Lease unchanged for its duration has lapsed, whatever
    its holder's clock says."""

    version: str = ""
    since: float = 0.0
    told: bool = False

    def unchanged_for(self, lease: dict[str, Any]) -> float:
        version = str(lease["metadata"].get("resourceVersion"))
        if version != self.version:
            self.version, self.since = version, time.monotonic()
        return time.monotonic() - self.since


def holder_of(lease: dict[str, Any]) -> LeaseHolder | None:
    """The holder a Lease names, or None when it is free."""
    spec = lease.get("spec") or {}
    identity = spec.get("holderIdentity")
    if not identity:
        return None
    return LeaseHolder(str(identity), _parse(spec.get("acquireTime")),
                       _parse(spec.get("renewTime")),
                       float(spec.get("leaseDurationSeconds") or 0))


def _body(lease: dict[str, Any]) -> dict[str, Any]:
    """A Lease as read, to be written back at the version read (bookkeeping left out)."""
    metadata = {k: v for k, v in lease["metadata"].items() if k != "managedFields"}
    return {**lease, "metadata": metadata}


def _now() -> datetime:
    return datetime.now(UTC)


def _microtime(moment: datetime) -> str:
    return moment.strftime(_MICROTIME)


def _parse(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _shown(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
