"""The real tier: tests against a control plane built from the Kubernetes Go modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.controlplane import BuildError, ControlPlane, StartError, build
from tests.controlplane._versions import Binaries
from tests.controlplane._webhookless import kustomize_wrapper

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is `realcluster` (select or skip them with -m)."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.realcluster)


@pytest.fixture(scope="session")
def binaries() -> Binaries:
    """The built control plane (built here on first use; scripts/check builds it first)."""
    try:
        return build().binaries
    except BuildError as error:
        pytest.fail(f"the control plane could not be built: {error}", pytrace=False)


@pytest.fixture(scope="module")
def control_plane(binaries: Binaries,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A fresh control plane for a test module, stopped after it."""
    try:
        plane = ControlPlane.start(binaries, tmp_path_factory.mktemp("control-plane"))
    except StartError as error:
        pytest.fail(str(error), pytrace=False)
    with plane:
        yield plane


@pytest.fixture(scope="session")
def webhookless_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kfops's cache while it renders without webhooks: never shared with plain renders."""
    return tmp_path_factory.mktemp("kfops-cache-webhookless")


@pytest.fixture
def webhookless(webhookless_cache: Path, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> None:
    """kfops renders every release without webhooks (tests/controlplane/_webhookless)."""
    monkeypatch.setenv("KFOPS_KUSTOMIZE", str(kustomize_wrapper(tmp_path / "tools")))
    monkeypatch.setenv("KFOPS_CACHE_DIR", str(webhookless_cache))
