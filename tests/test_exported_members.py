"""Each package's public surface is exactly its `__all__` (private modules stay private)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import kfops

PACKAGES = ["kfops", *(m.name for m in pkgutil.iter_modules(kfops.__path__, "kfops.")
                       if m.ispkg)]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__) - {"__version__"}
    public = {n for n in vars(module) if not n.startswith("_")
              and not isinstance(getattr(module, n), type(module))}
    assert exported == public
    assert all(hasattr(module, n) for n in exported)


def test_every_package_is_checked() -> None:
    assert set(PACKAGES) >= {"kfops", "kfops.config", "kfops.catalog", "kfops.render",
                             "kfops.validate", "kfops.targets", "kfops.cli", "kfops.objects",
                             "kfops.operations", "kfops.ingress", "kfops.storage", "kfops.aks"}


def test_the_front_door_is_the_library_a_user_needs() -> None:
    """load, render, validate, plan, apply, status and uninstall from `import kfops` alone."""
    for name in ("load_platform", "render_platform", "validate_platform", "plan_platform",
                 "apply_platform", "platform_status", "uninstall_platform", "Cluster",
                 "KfopsError", "__version__"):
        assert name in kfops.__all__, name
        assert getattr(kfops, name) is not None
