"""The shared Kubernetes vocabulary, below every other layer of kfops.

Objects are plain dicts. Here: their identity and naming, which install they
belong to (the ApplySet, its parent and labels), the stages of a bundle and
their order, the order of kinds when applying and deleting, and the grammar of
container image references. It imports nothing of kfops but `kfops.errors`.
"""

from ._applyset import (
    ADDITIONAL_NAMESPACES,
    GROUP_KINDS,
    ID_LABEL,
    MANAGED_BY,
    PARENT_NAMESPACE,
    PART_OF,
    PLATFORM_LABEL,
    TOOLING,
    ApplySet,
)
from ._containers import (
    ISTIO_PROXY,
    container_env,
    istio_proxy_image,
    set_container_env,
    set_container_secret_env,
)
from ._identity import (
    BUILTIN_CLUSTER_SCOPED,
    WORKLOAD_KINDS,
    Identity,
    cluster_scoped_kinds,
    describe,
    identity_of,
    is_profile,
    storage_version,
)
from ._images import (
    image_tag,
    is_image_reference,
    is_reference,
    normalise_image,
    references_in,
    replace_reference,
    split_reference,
)
from ._order import deletion_order, kind_rank
from ._secrets import secret_value, set_secret_value
from ._selectors import selector_matches
from ._stages import (
    CRDS_STAGE,
    NAMESPACES_STAGE,
    PLATFORM_STAGE,
    PREREQS_STAGE,
    STAGES,
    file_name,
    stage_of,
)

__all__ = [
    "ADDITIONAL_NAMESPACES",
    "BUILTIN_CLUSTER_SCOPED",
    "CRDS_STAGE",
    "GROUP_KINDS",
    "ID_LABEL",
    "ISTIO_PROXY",
    "MANAGED_BY",
    "NAMESPACES_STAGE",
    "PARENT_NAMESPACE",
    "PART_OF",
    "PLATFORM_LABEL",
    "PLATFORM_STAGE",
    "PREREQS_STAGE",
    "STAGES",
    "TOOLING",
    "WORKLOAD_KINDS",
    "ApplySet",
    "Identity",
    "cluster_scoped_kinds",
    "container_env",
    "deletion_order",
    "describe",
    "file_name",
    "identity_of",
    "image_tag",
    "is_image_reference",
    "is_profile",
    "is_reference",
    "istio_proxy_image",
    "kind_rank",
    "normalise_image",
    "references_in",
    "replace_reference",
    "secret_value",
    "selector_matches",
    "set_container_env",
    "set_container_secret_env",
    "set_secret_value",
    "split_reference",
    "stage_of",
    "storage_version",
]
