"""Render a platform file into a validated, staged bundle of upstream Kubeflow objects."""

from ._bundle import (
    IMAGES,
    LOCK,
    Bundle,
    keep_secret_files,
    read_bundle_files,
    read_bundle_objects,
    read_lock,
    write_bundle,
)
from ._check import validate_bundle
from ._contributions import (
    Contributed,
    Contribution,
    EditableBundle,
    GeneratedValue,
    GeneratedValues,
    Phase,
    RenderContext,
)
from ._customize import customization_features
from ._extra_manifests import manifest_files
from ._images import ImageUse, find_image_uses, image_list, public_references
from ._objects import BundleObject
from ._paths import cache_root, write_atomic
from ._readers import GENERATED_DIGEST
from ._remote import RemoteRef, RemoteResolver, parse_remote
from ._render import (
    ReleaseInputs,
    RenderOptions,
    RenderProgress,
    RenderResult,
    load_extra_crds,
    release_inputs,
    render,
)
from ._reviewed import ReviewedBundle, generated_from_lock, review_bundle
from ._sources import SourceFetcher

__all__ = [
    "GENERATED_DIGEST",
    "IMAGES",
    "LOCK",
    "Bundle",
    "BundleObject",
    "Contributed",
    "Contribution",
    "EditableBundle",
    "GeneratedValue",
    "GeneratedValues",
    "ImageUse",
    "Phase",
    "ReleaseInputs",
    "RemoteRef",
    "RemoteResolver",
    "RenderContext",
    "RenderOptions",
    "RenderProgress",
    "RenderResult",
    "ReviewedBundle",
    "SourceFetcher",
    "cache_root",
    "customization_features",
    "find_image_uses",
    "generated_from_lock",
    "image_list",
    "keep_secret_files",
    "load_extra_crds",
    "manifest_files",
    "parse_remote",
    "public_references",
    "read_bundle_files",
    "read_bundle_objects",
    "read_lock",
    "release_inputs",
    "render",
    "review_bundle",
    "validate_bundle",
    "write_atomic",
    "write_bundle",
]
