"""Which install `status` and `uninstall` are about: the one a platform file or a written
bundle names, or one the cluster holds (by name, or the only one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kfops.cluster import Cluster, recorded_workloads
from kfops.config import DEFAULT_PLATFORM_FILE, load_platform
from kfops.errors import InputError
from kfops.health import ComponentStatus, platform_status
from kfops.objects import ApplySet
from kfops.render import RenderOptions

from ._apply import bundle_files, bundle_from_disk, platform_applyset
from ._installs import installed_applyset
from ._render import render_platform

Source = Literal["file", "bundle", "cluster"]


@dataclass(frozen=True)
class InstallChoice:
    """The install a command names with a platform file, a bundle or a name (one of them).

    Naming none means ./platform.yaml if it exists, else the one install the
    cluster holds.
    """

    file: Path | None = None
    bundle: Path | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        given = [flag for flag, value in (("-f", self.file), ("--bundle", self.bundle),
                                          ("--name", self.name)) if value is not None]
        if len(given) > 1:
            raise InputError(f"{' and '.join(given)} name the install twice: use one of them")

    def source(self) -> Source:
        """Where the install comes from: `file`, `bundle` or `cluster` (its ApplySet parent)."""
        if self.bundle is not None:
            return "bundle"
        if self.file is not None or (self.name is None and DEFAULT_PLATFORM_FILE.is_file()):
            return "file"
        return "cluster"

    def named_applyset(self) -> ApplySet | None:
        """The install the bundle or platform file names (None: ask the cluster)."""
        source = self.source()
        if source == "bundle" and self.bundle is not None:
            return bundle_from_disk(self.bundle)[1]
        if source == "file":
            # Only its name counts: no connector secret need be at hand to uninstall.
            return platform_applyset(load_platform(self.file or DEFAULT_PLATFORM_FILE,
                                                 check_references=False))
        return None


def install_status(choice: InstallChoice, connect: Callable[[], Cluster],
                   render_options: RenderOptions | None = None, *,
                   allow_outside: bool = False) -> list[ComponentStatus]:
    """Health per component of the chosen install, on the cluster `connect` opens.

    A bundle or platform file is read before connecting (a bad one stops here
    without a word to the cluster); the platform file is rendered for its
    workloads; without either, the workloads the install's last apply recorded.
    """
    source = choice.source()
    files = bundle_from_disk(choice.bundle)[0] \
        if source == "bundle" and choice.bundle is not None else None
    loaded = load_platform(choice.file or DEFAULT_PLATFORM_FILE, allow_outside=allow_outside) \
        if source == "file" else None
    with connect() as cluster:
        if loaded is not None:
            files = bundle_files(render_platform(loaded, render_options).bundle)
        if files is None:
            files = recorded_workloads(cluster, installed_applyset(cluster, choice.name))
        return platform_status(cluster, files)
