"""A rendered object: its content, its exact text in the bundle, and its component."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kfops.objects import Identity, identity_of


@dataclass
class BundleObject:
    """One object of the bundle and the component it belongs to."""

    obj: dict[str, Any]
    text: str
    """The object's YAML as written in the bundle (kustomize's own output when unchanged)."""
    component: str

    @property
    def identity(self) -> Identity:
        """(group, kind, namespace, name)."""
        return identity_of(self.obj)

    @property
    def kind(self) -> str:
        """The object's kind."""
        return str(self.obj.get("kind", ""))
