"""A client of the emulated API server (tests/conftest.py), and the default 26.03 platform."""

from __future__ import annotations

from typing import Any

import pytest

from kfops.cluster import ApplyOptions, Cluster
from kfops.config import LoadedPlatform, load_platform
from kfops.operations import ApplyResult, apply_platform
from kfops.render import RenderOptions
from tests.conftest import FAST_WAITS, PlatformWriter
from tests.emulator import RunningEmulator


@pytest.fixture
def platform(platform_file: PlatformWriter) -> LoadedPlatform:
    """The default local platform of the 26.03 release."""
    return load_platform(platform_file())


def apply(loaded: LoadedPlatform, cluster: Cluster, *, rotate_secrets: bool = False,
          **options: Any) -> ApplyResult:
    """`kfops apply` of `loaded` with test waits (options as ApplyOptions takes them)."""
    options.setdefault("waits", FAST_WAITS)
    return apply_platform(loaded, cluster, ApplyOptions(**options),
                          render_options=RenderOptions(offline=True),
                          rotate_secrets=rotate_secrets)


def stored(emulator: RunningEmulator) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """Every object the emulated cluster holds, by (group, plural, namespace, name)."""
    with emulator.lock:
        return {key: entry.obj for key, entry in emulator.state.objects.items()}
