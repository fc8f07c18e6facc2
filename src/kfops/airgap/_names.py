"""Where each image goes in a private registry (`airgap.registry`, `airgap.keepSourceHost`)."""

from __future__ import annotations

from kfops.objects import normalise_image, split_reference


def destination_repository(repository: str, registry: str, keep_source_host: bool) -> str:
    """`ghcr.io/kubeflow/x` -> `REGISTRY/kubeflow/x` (or `REGISTRY/ghcr.io/kubeflow/x`)."""
    full = normalise_image(repository).removesuffix(":latest")
    path = full.partition("/")[2]
    return f"{registry}/{full}" if keep_source_host else f"{registry}/{path}"


def rewrite_hub(hub: str, registry: str, keep_source_host: bool) -> str:
    """An image prefix such as Istio's hub (`docker.io/istio`: images are hub/name:tag)."""
    return rewrite_reference(f"{hub.rstrip('/')}/image:tag", registry,
                             keep_source_host).removesuffix("/image:tag")


def rewrite_reference(reference: str, registry: str, keep_source_host: bool) -> str:
    """The reference in the private registry, its tag and digest kept as written."""
    repository, suffix = split_reference(reference)
    return destination_repository(repository, registry, keep_source_host) + suffix


def destination(source: str, registry: str, keep_source_host: bool) -> str:
    """The normalised destination of a normalised source image."""
    return normalise_image(rewrite_reference(source, registry, keep_source_host))
