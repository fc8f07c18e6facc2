"""`spec.patches` and `spec.extraManifests`: the administrator's own changes and objects.

Patches follow kustomize's `patches` field (kubectl.docs.kubernetes.io, kustomize
reference "patches"): a strategic merge patch or a JSON 6902 patch, inline or in a
file, applied to the objects its `target` selects. kfops runs kustomize itself to
apply them, so their meaning is kustomize's.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ._types import QualifiedName, Source, Strict, Text

#: The largest inline patch: a patch is a few lines; a manifest belongs in extraManifests.
PATCH_TEXT_LIMIT = 256 * 1024

PatchText = Annotated[str, Field(max_length=PATCH_TEXT_LIMIT)]


def _pattern(value: str) -> str:
    """kustomize matches `name` and `namespace` as anchored regular expressions."""
    try:
        re.compile(value)
    except re.error as error:
        raise PydanticCustomError(
            "selector_regex", "expected a name or a regular expression kustomize can match "
            "({reason})", {"reason": str(error)}) from None
    return value


Pattern = Annotated[Text, Field(min_length=1, max_length=253)]


class PatchTarget(Strict):
    """Which objects a patch changes (kustomize's selector); every field given must match."""

    group: Text | None = None
    """API group, exactly ("" is the core group, `apps`, `kubeflow.org`...)."""
    version: Text | None = None
    """API version, exactly (`v1`, `v1beta1`)."""
    kind: Text | None = None
    """Kind, exactly (`Deployment`)."""
    name: Pattern | None = None
    """Name: a regular expression matched against the whole name."""
    namespace: Pattern | None = None
    """Namespace: a regular expression matched against the whole namespace."""
    label_selector: Text | None = Field(None, alias="labelSelector")
    """A label selector such as `app=ml-pipeline,tier!=db`."""
    annotation_selector: Text | None = Field(None, alias="annotationSelector")
    """An annotation selector, written like a label selector."""

    @field_validator("name", "namespace")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return None if value is None else _pattern(value)

    @model_validator(mode="after")
    def _not_empty(self) -> PatchTarget:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "empty_target", "expected at least one of group, version, kind, name, "
                "namespace, labelSelector, annotationSelector (an empty target matches every "
                "object)")
        return self



class Patch(Strict):
    """One of your own changes, applied after kfops's (kustomize-style)."""

    target: PatchTarget | None = None
    """The objects to change; without it, a strategic merge patch names its object itself
    (apiVersion, kind, metadata.name and namespace)."""
    patch: PatchText | None = None
    """The patch itself: a strategic merge patch (a partial object) or a JSON 6902 patch (a
    list of operations)."""
    path: Text | None = None
    """A file holding the patch, relative to the platform file (instead of `patch`)."""
    options: dict[QualifiedName, bool] | None = None
    """Not supported: kfops keeps every object's kind and name (plan and prune follow them)."""

    @model_validator(mode="after")
    def _one_source(self) -> Patch:
        if (self.patch is None) == (self.path is None):
            raise PydanticCustomError(
                "patch_source", "expected exactly one of `patch` (inline) or `path` (a file)")
        if self.options:
            raise PydanticCustomError(
                "patch_options", "options (allowNameChange, allowKindChange) are not "
                "supported: a patch keeps the object's kind and name, so plan and prune can "
                "follow it; leave the object out with a field or add a new one with "
                "spec.extraManifests")
        return self


ExtraManifest = Source
"""A YAML file, a folder of them, or an https:// URL of one (cached like remote bases)."""
