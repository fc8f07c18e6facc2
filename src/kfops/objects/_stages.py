"""The stages of a bundle, in apply order, and the file of each component in a stage."""

from __future__ import annotations

import re

CRDS_STAGE, NAMESPACES_STAGE = "00-crds", "10-namespaces"
PREREQS_STAGE, PLATFORM_STAGE = "20-prereqs", "30-platform"
#: Stage folders in apply order (their names sort in that order too).
STAGES = (CRDS_STAGE, NAMESPACES_STAGE, PREREQS_STAGE, PLATFORM_STAGE)


def stage_of(kind: str, component: str, prereq_components: frozenset[str] = frozenset()) -> str:
    """The stage folder of an object of `kind` that belongs to `component`."""
    if kind == "CustomResourceDefinition":
        return CRDS_STAGE
    if kind == "Namespace":
        return NAMESPACES_STAGE
    if component in prereq_components:
        return PREREQS_STAGE
    return PLATFORM_STAGE


def file_name(component: str) -> str:
    """`certManager` -> `cert-manager.yaml`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", component).lower() + ".yaml"
