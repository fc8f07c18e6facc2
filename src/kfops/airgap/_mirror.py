"""`kfops images mirror`: every image copied into a private registry, several at once.

An image whose digest the destination already has is skipped, so a second run
copies nothing and a run after an interruption continues with what is missing
(skopeo also reuses blobs that an interrupted copy left there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from ._names import destination
from ._skopeo import Skopeo, SkopeoError

Outcome = Literal["copied", "skipped", "failed"]


@dataclass(frozen=True)
class MirrorResult:
    """What happened to one image."""

    source: str
    destination: str
    outcome: Outcome
    reason: str = ""
    digest: str = ""


def mirror_images(images: Sequence[str], registry: str, skopeo: Skopeo, *,
                  keep_source_host: bool = False, parallel: int = 4,
                  on_done: Callable[[MirrorResult], None] = lambda _: None) -> list[MirrorResult]:
    """Copy `images` (normalised sources) to `registry`; the results in the order given."""

    def one(source: str) -> MirrorResult:
        target = destination(source, registry, keep_source_host)
        result = _mirror_one(source, target, skopeo)
        on_done(result)
        return result

    return in_parallel(one, images, parallel)


def in_parallel(work: Callable[[str], MirrorResult], images: Sequence[str],
                parallel: int) -> list[MirrorResult]:
    """`work` on every image, `parallel` at once; an interruption stops what has not started."""
    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    try:
        return list(pool.map(work, images))
    except BaseException:
        # Ctrl-C: copies under way finish (skopeo leaves no half image), the rest never start;
        # the next run skips what arrived.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def _mirror_one(source: str, target: str, skopeo: Skopeo) -> MirrorResult:
    try:
        wanted = skopeo.digest(f"docker://{source}")
        if wanted is None:
            return MirrorResult(source, target, "failed", "not found at the source")
        if skopeo.digest(f"docker://{target}", destination=True) == wanted:
            return MirrorResult(source, target, "skipped", "already there", wanted)
        skopeo.copy(f"docker://{source}", f"docker://{target}")
    except SkopeoError as error:
        return MirrorResult(source, target, "failed", str(error))
    return MirrorResult(source, target, "copied", "", wanted)
