"""Finding the catalog entry of a release version."""

from __future__ import annotations

import re
from pathlib import Path

from ._discover import discover
from ._model import ReleaseCatalog
from ._releases import RELEASES, ReleaseEntry


def known_versions() -> list[str]:
    """Release lines the catalog describes, e.g. `v1.10.x`, `26.03`."""
    return list(RELEASES)


def catalog_for(version: str, root: Path) -> ReleaseCatalog:
    """The catalog of `version`; a release not in the catalog is read from `root`'s example/."""
    line = release_line(version)
    if line in RELEASES:
        return _from_entry(version, RELEASES[line])
    newest = list(RELEASES)[-1]
    return discover(version, root, _from_entry(newest, RELEASES[newest]))


def releases_matching(root: Path) -> list[str]:
    """The catalogued release lines whose every component folder `root` has."""
    return [line for line, entry in RELEASES.items()
            if all((root / path).is_dir() for c in entry.components for path in c.paths)]


def same_release(version: str, tag: str) -> bool:
    """Whether a checkout tagged `tag` is release `version` (`v1.10.x` takes any v1.10 tag)."""
    if version.endswith(".x"):
        return release_line(tag) == release_line(version)
    return tag.lstrip("v") == version.lstrip("v")


def supported_kubernetes(version: str) -> tuple[str, str] | None:
    """The Kubernetes range a catalogued release was tested on; None for other releases."""
    entry = RELEASES.get(release_line(version))
    return entry.supported_kubernetes if entry else None


def _from_entry(version: str, entry: ReleaseEntry) -> ReleaseCatalog:
    return ReleaseCatalog(
        version=version, components=entry.components, tested_kubernetes=entry.tested_kubernetes,
        supported_kubernetes=entry.supported_kubernetes, ownership=entry.ownership,
    )


def release_line(version: str) -> str:
    """`v1.10.2` -> `v1.10.x`; `26.03.1` -> `26.03`."""
    semver = re.match(r"^v1\.(\d+)\.", version)
    if semver:
        return f"v1.{semver.group(1)}.x"
    return ".".join(version.split(".")[:2])
