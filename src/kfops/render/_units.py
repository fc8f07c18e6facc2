"""Build units: one kustomize build per (component, path), cached by its inputs.

A unit's cache key covers everything its output depends on: the kustomize
version, the workspace (release and remote bases, by digest) and the generated
overlay (path, namespace, labels). Toggling a component or changing one
component's overlay therefore rebuilds only that component.
"""

from __future__ import annotations

import json
import marshal
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._documents import split_documents
from ._kustomize import Kustomize
from ._paths import sha256_text, write_atomic
from ._workspace import Workspace

CACHE_FORMAT = "1"
Documents = list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Unit:
    """One kustomize path of one component, wrapped in kfops's overlay."""

    component: str
    path: str
    overlay: str

    def key(self, kustomize: Kustomize, workspace: Workspace) -> str:
        """The cache key: identical keys give identical output."""
        return sha256_text(CACHE_FORMAT, Path(kustomize.argv[0]).name, kustomize.version,
                           workspace.key, self.overlay)


def overlay_for(
    path: str, labels: dict[str, str], namespace: str | None,
    patches: list[dict[str, Any]] | None = None,
) -> str:
    """The kustomization kfops puts around an upstream path.

    The labels go on `metadata.labels` only (never selectors or pod templates),
    as PLATFORM.md requires of the inventory labels.
    """
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [f"../../release/{path}"],
    }
    if namespace:
        kustomization["namespace"] = namespace
    if patches:
        kustomization["patches"] = patches
    kustomization["labels"] = [
        {"pairs": dict(sorted(labels.items())), "includeSelectors": False,
         "includeTemplates": False}
    ]
    # JSON is YAML, and json.dumps is ~50x faster than PyYAML's pure-Python dumper.
    return json.dumps(kustomization) + "\n"


@dataclass(frozen=True)
class BuildStats:
    """Where the build time went, for `render --timings` and the benchmark."""

    built: int
    cached: int
    parse_seconds: float
    """Time spent parsing kustomize's output (overlapping the builds still running)."""


def build_units(
    units: Sequence[Unit],
    kustomize: Kustomize,
    workspace: Workspace,
    cache: Path,
    *,
    on_done: Callable[[Unit], None] = lambda unit: None,
    on_built: Callable[[Documents], None] = lambda documents: None,
) -> tuple[list[Documents], BuildStats]:
    """The documents of every unit, in order, from the cache or kustomize (in parallel).

    `on_done` hears of every unit; `on_built` gets the documents of each unit that
    was just built, while the other builds still run (to start checking them).
    """
    results: list[Documents | None] = [None] * len(units)
    keys = [unit.key(kustomize, workspace) for unit in units]
    missing: list[int] = []
    parse = 0.0
    for index, key in enumerate(keys):
        cached = _read_build(cache, key)
        if cached is not None:
            results[index] = cached
            on_done(units[index])
        else:
            missing.append(index)
    if missing:
        # Longest first: the biggest builds (KServe's CRDs take ~1.5 s) must not be the tail.
        missing.sort(key=lambda i: -_weight(units[i], workspace))
        workers = max(1, min(len(missing), os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(_build_one, units[i], kustomize, workspace): i for i in missing
            }
            for future in as_completed(futures):
                index = futures[future]
                # Parsing here, on the main thread, overlaps with the builds still running.
                started = time.perf_counter()
                documents = split_documents(future.result())
                parse += time.perf_counter() - started
                write_atomic(_build_file(cache, keys[index]), marshal.dumps(documents))
                results[index] = documents
                on_built(documents)
                on_done(units[index])
    stats = BuildStats(len(missing), len(units) - len(missing), parse)
    return [r or [] for r in results], stats


_REMOTE_PATH = re.compile(r"[\w./-]*_remote/[\w./-]+")


def _weight(unit: Unit, workspace: Workspace) -> int:
    """A guess of a build's cost: bytes of YAML in its application folder and remote bases.

    kustomize's time grows with the YAML it reads, and a path's bases live in
    its application folder (e.g. applications/kserve) or in remote bases that
    folder's kustomizations point at.
    """
    folder = workspace.root / "release" / "/".join(unit.path.split("/")[:2])
    total = 0
    for path in folder.rglob("*"):
        if path.suffix in (".yaml", ".yml") and path.is_file():
            total += path.stat().st_size
            if path.name == "kustomization.yaml" and "_remote/" in (text := path.read_text()):
                total += sum(_size(path.parent / ref) for ref in _REMOTE_PATH.findall(text))
    return total


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _build_file(cache: Path, key: str) -> Path:
    # marshal reads plain lists, dicts and strings several times faster than json; its
    # format is tied to the interpreter version, so that is part of the file name.
    return cache / "builds" / f"{key}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"


def _read_build(cache: Path, key: str) -> Documents | None:
    try:
        data = marshal.loads(_build_file(cache, key).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return data if isinstance(data, list) else None


def _build_one(unit: Unit, kustomize: Kustomize, workspace: Workspace) -> str:
    folder = workspace.root / "_kfops" / sha256_text(unit.overlay)[:24]
    target = folder / "kustomization.yaml"
    if not target.exists():
        write_atomic(target, unit.overlay.encode())
    return kustomize.build(folder)
