"""`kfops images mirror`: every image copied into a private registry, several at once.

An image whose digest the destination already has is skipped, so a second run
copies nothing and a run after an interruption continues with what is missing
(skopeo also reuses blobs that an interrupted copy left there). Copies that
would upload the same missing blob (a base layer several images share) do not
run at the same time: the second starts once the first has put the blob there,
so each blob is sent once.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from kfops.errors import SkopeoError

from ._names import destination
from ._skopeo import Skopeo

Outcome = Literal["copied", "skipped", "failed"]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class MirrorResult:
    """What happened to one image."""

    source: str
    destination: str
    outcome: Outcome
    reason: str = ""
    digest: str = ""


@dataclass
class _Plan:
    source: str
    target: str
    digest: str = ""
    blobs: frozenset[str] = frozenset()
    result: MirrorResult | None = None
    """Set when nothing is to copy (skipped, or failed while looking)."""


def mirror_images(images: Sequence[str], registry: str, skopeo: Skopeo, *,
                  keep_source_host: bool = False, parallel: int = 4,
                  on_done: Callable[[MirrorResult], None] = lambda _: None) -> list[MirrorResult]:
    """Copy `images` (normalised sources) to `registry`; the results in the order given."""

    def look(source: str) -> _Plan:
        plan = _look(source, destination(source, registry, keep_source_host), skopeo)
        if plan.result is not None:
            on_done(plan.result)
        return plan

    plans = in_parallel(look, images, parallel)
    queue = _BlobQueue([p for p in plans if p.result is None])

    def copy(plan: _Plan) -> MirrorResult:
        result = MirrorResult(plan.source, plan.target, "failed", "not copied")
        try:
            skopeo.copy(f"docker://{plan.source}", f"docker://{plan.target}")
            result = MirrorResult(plan.source, plan.target, "copied", "", plan.digest)
        except (SkopeoError, OSError) as error:
            result = MirrorResult(plan.source, plan.target, "failed", str(error))
        finally:
            # Whatever happened, the copy's blobs are no longer in flight.
            queue.finish(plan, result.outcome == "copied")
        on_done(result)
        return result

    def next_copy(_: int) -> MirrorResult | None:
        plan = queue.take()
        return None if plan is None else copy(plan)

    done = in_parallel(next_copy, range(len(queue)), parallel, on_interrupt=queue.stop)
    copied = {r.source: r for r in done if r is not None}
    return [p.result or copied[p.source] for p in plans]


def _look(source: str, target: str, skopeo: Skopeo) -> _Plan:
    """The source's digest and blobs, and whether the destination has it already."""
    try:
        raw = skopeo.manifest(f"docker://{source}")
        if raw is None:
            return _Plan(source, target, result=MirrorResult(source, target, "failed",
                                                             "not found at the source"))
        digest = Skopeo.digest_of(raw)
        if skopeo.digest(f"docker://{target}", destination=True) == digest:
            return _Plan(source, target, digest, result=MirrorResult(
                source, target, "skipped", "already there", digest))
    except SkopeoError as error:
        return _Plan(source, target, result=MirrorResult(source, target, "failed", str(error)))
    return _Plan(source, target, digest, _blobs(raw))


def _blobs(raw: bytes) -> frozenset[str]:
    """The blobs a manifest names (an index: its manifests, whose layers are not read)."""
    try:
        manifest = json.loads(raw)
    except ValueError:
        return frozenset()
    descriptors = [manifest.get("config") or {}, *(manifest.get("layers") or []),
                   *(manifest.get("manifests") or [])]
    return frozenset(str(d["digest"]) for d in descriptors if isinstance(d, dict)
                     and d.get("digest"))


@dataclass
class _BlobQueue:
    """Hands out copies so that no two running ones upload the same missing blob."""

    pending: list[_Plan]
    _uploading: Counter[str] = field(default_factory=Counter)
    _there: set[str] = field(default_factory=set)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _stopped: bool = False

    def __len__(self) -> int:
        return len(self.pending)

    def stop(self) -> None:
        """Hand out nothing more (an interruption): waiting workers return at once."""
        with self._lock:
            self._stopped = True
            self._lock.notify_all()

    def take(self) -> _Plan | None:
        """The next copy whose missing blobs no running copy is uploading (waits for one);
        None once stopped."""
        with self._lock:
            while not self._stopped:
                for plan in self.pending:
                    missing = plan.blobs - self._there
                    if not missing & set(self._uploading) or not self._uploading:
                        self.pending.remove(plan)
                        self._uploading.update(missing)
                        return plan
                self._lock.wait()
            return None

    def finish(self, plan: _Plan, copied: bool) -> None:
        """A copy ended: its blobs are no longer in flight (and are there, if it worked)."""
        with self._lock:
            missing = plan.blobs - self._there
            self._uploading.subtract(missing)
            self._uploading = +self._uploading
            if copied:
                self._there |= plan.blobs
            self._lock.notify_all()


def in_parallel(work: Callable[[T], R], items: Sequence[T], parallel: int,
                on_interrupt: Callable[[], None] = lambda: None) -> list[R]:
    """`work` on every item, `parallel` at once; an interruption stops what has not started.

    `on_interrupt` runs first on an interruption (to release workers that wait).
    """
    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    try:
        futures = [pool.submit(work, item) for item in items]
        # Short waits: a blocked wait would only see Ctrl-C when some future completes.
        while wait(futures, timeout=0.1).not_done:
            pass
        return [future.result() for future in futures]
    except BaseException:
        on_interrupt()
        # Ctrl-C: copies under way finish (skopeo runs in its own session, out of reach of the
        # terminal's signal), the rest never start; the next run skips what arrived.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
