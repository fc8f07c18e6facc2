"""Which install an object belongs to: the KEP-3659 ApplySet, its parent and its labels.

The parent is the Secret `kfops-<platform>` in kube-system; every member
carries `applyset.kubernetes.io/part-of: <id>`
(https://github.com/kubernetes/enhancements/tree/master/keps/sig-cli/3659-kubectl-apply-prune).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

#: Label on every member: the id of the ApplySet it belongs to.
PART_OF = "applyset.kubernetes.io/part-of"
#: Label on the parent: its own ApplySet id.
ID_LABEL = "applyset.kubernetes.io/id"
#: Annotation on the parent: the tool that manages the ApplySet.
TOOLING = "applyset.kubernetes.io/tooling"
#: Annotation on the parent: the members' group-kinds (`Kind.group`).
GROUP_KINDS = "applyset.kubernetes.io/contains-group-kinds"
#: Annotation on the parent: the namespaces of its members besides its own.
ADDITIONAL_NAMESPACES = "applyset.kubernetes.io/additional-namespaces"
#: Label on the parent and every member.
MANAGED_BY = "app.kubernetes.io/managed-by"
#: Label on the parent and every member: the platform's metadata.name.
PLATFORM_LABEL = "kfops.io/platform"
#: Where every parent lives.
PARENT_NAMESPACE = "kube-system"


@dataclass(frozen=True, order=True)
class ApplySet:
    """One kfops install: its platform name and ApplySet id.

    The id is computed from the platform name unless given: an install read
    from the cluster keeps the id its parent records.
    """

    platform: str
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", _id_of(self.parent_name))

    @property
    def parent_name(self) -> str:
        """Name of the parent Secret (in kube-system)."""
        return f"kfops-{self.platform}"

    def member_labels(self) -> dict[str, str]:
        """Labels on every object kfops applies (metadata.labels only, never selectors)."""
        return {MANAGED_BY: "kfops", PLATFORM_LABEL: self.platform, PART_OF: self.id}


def _id_of(parent: str) -> str:
    """`applyset-<base64url(sha256(name.namespace.kind.group))>-v1`, as KEP-3659 defines."""
    digest = hashlib.sha256(f"{parent}.{PARENT_NAMESPACE}.Secret.".encode()).digest()
    return f"applyset-{base64.urlsafe_b64encode(digest).decode().rstrip('=')}-v1"
