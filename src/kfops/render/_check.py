"""`kfops validate --bundle`: validate a bundle on disk without rendering it again."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from kfops.errors import RenderError
from kfops.validate import ExtraCrd, ValidationReport, validate_objects

from ._bundle import SCHEMAS, read_bundle_objects, read_bundle_text
from ._documents import load_documents
from ._paths import cache_root


def validate_bundle(
    folder: Path, extra_crds: Sequence[ExtraCrd] = (), kubernetes_version: str | None = None,
    cache_dir: Path | None = None, *, secrets_dir: Path | None = None,
    paths: Collection[str] | None = None,
) -> ValidationReport:
    """Validate every object of a written bundle against the Kubernetes version it was made for
    (`secrets_dir` and `paths` as for read_bundle_files)."""
    objects, digests, lock = read_bundle_objects(folder, secrets_dir=secrets_dir, paths=paths)
    schemas = folder / SCHEMAS
    if schemas.is_dir():
        # CRDs a Helm chart installs (Karpenter's): kept in the bundle to validate against.
        extra_crds = (*extra_crds, *_crds_in(folder))
    version = kubernetes_version or lock.get("kubernetesVersion")
    if not isinstance(version, str):
        raise RenderError(f"{folder}/kfops.lock names no kubernetesVersion; pass one")
    return validate_objects(objects, version, extra_crds, digests=digests,
                            cache_dir=cache_dir or cache_root())


def _crds_in(bundle: Path) -> list[ExtraCrd]:
    files = sorted((bundle / SCHEMAS).glob("*.yaml"))
    return [ExtraCrd(obj, str(file)) for file in files
            for obj in load_documents(read_bundle_text(bundle, f"{SCHEMAS}/{file.name}"),
                                      origin=str(file))
            if obj.get("kind") == "CustomResourceDefinition"]
