"""What the install should be, as doctor knows it: from the platform file, a written bundle,
or the record the install's last apply left on the cluster."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kfops.catalog import DEFAULT_SETTINGS, Settings
from kfops.cluster import BundleFile

CRD_KIND = "CustomResourceDefinition"


@dataclass(frozen=True)
class InstallFacts:
    """The install doctor checks the cluster against."""

    namespaces: frozenset[str]
    """Where the install's objects live (its platform namespaces)."""
    workloads: tuple[BundleFile, ...]
    """Its Deployments, StatefulSets and DaemonSets by component (what `status` checks)."""
    kinds: frozenset[tuple[str, str]]
    """(apiVersion, kind) of everything it applied: the custom ones need their CRDs."""
    crds: frozenset[str] = frozenset()
    """Names of the CRDs the bundle carries (empty without a bundle: `kinds` tells)."""
    settings: Settings = DEFAULT_SETTINGS
    host: str | None = None
    """`spec.ingress.host` (None: not known without the platform file, or not set)."""
    https: bool | None = None
    """Whether browsers use HTTPS (None: not known without the platform file)."""
    source: str = "cluster"
    """file | bundle | cluster: where these facts come from (the fixes name fields only with
    a platform file)."""

    @property
    def expected_issuer(self) -> str | None:
        """Dex's issuer as kfops renders it for the host, None when no host is known."""
        if self.host is None or self.https is None:
            return None
        return f"{'https' if self.https else 'http'}://{self.host}/dex"


def facts_from_files(files: Sequence[BundleFile], settings: Settings = DEFAULT_SETTINGS, *,
                     host: str | None = None, https: bool | None = None,
                     source: str = "bundle") -> InstallFacts:
    """The facts a bundle's files give (rendered from the platform file, or read from disk)."""
    objects = [o for f in files for o in f.objects]
    return InstallFacts(
        namespaces=frozenset(_namespaces(objects)),
        workloads=tuple(files),
        kinds=frozenset((str(o.get("apiVersion")), str(o.get("kind"))) for o in objects),
        crds=frozenset(str(o["metadata"]["name"]) for o in objects if o.get("kind") == CRD_KIND),
        settings=settings, host=host, https=https, source=source)


def _namespaces(objects: Iterable[dict[str, Any]]) -> set[str]:
    found = set()
    for obj in objects:
        metadata = obj.get("metadata") or {}
        if obj.get("kind") == "Namespace":
            found.add(str(metadata.get("name")))
        elif metadata.get("namespace"):
            found.add(str(metadata["namespace"]))
    return found
