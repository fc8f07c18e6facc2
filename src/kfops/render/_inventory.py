"""The labels that let plan, prune and uninstall find exactly what kfops owns."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

MANAGED_BY = "app.kubernetes.io/managed-by"
PLATFORM = "kfops.io/platform"
PART_OF = "applyset.kubernetes.io/part-of"
PARENT_NAMESPACE = "kube-system"


@dataclass(frozen=True)
class ApplySet:
    """The KEP-3659 ApplySet whose parent is the Secret `kfops-<platform>` in kube-system."""

    platform: str

    @property
    def parent_name(self) -> str:
        """Name of the parent Secret."""
        return f"kfops-{self.platform}"

    @property
    def id(self) -> str:
        """`applyset-<base64url(sha256(name.namespace.kind.group))>-v1`, as KEP-3659 defines."""
        digest = hashlib.sha256(f"{self.parent_name}.{PARENT_NAMESPACE}.Secret.".encode()).digest()
        return f"applyset-{base64.urlsafe_b64encode(digest).decode().rstrip('=')}-v1"

    def member_labels(self) -> dict[str, str]:
        """Labels on every object kfops applies (metadata.labels only, never selectors)."""
        return {MANAGED_BY: "kfops", PLATFORM: self.platform, PART_OF: self.id}
