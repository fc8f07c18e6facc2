"""What a release catalog entry says: components, their paths, needs and owned objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._settings import DEFAULT_SETTINGS, Settings


@dataclass(frozen=True)
class Component:
    """A part of the platform that is installed or left out as a whole."""

    name: str
    """The key in `spec.components` for optional ones; a camelCase name for the rest."""
    title: str
    paths: tuple[str, ...]
    """kustomize folders, relative to the release root, built in this order."""
    kind: str = "optional"
    """core: always installed; optional: `spec.components` decides; support: installed when
    an installed component needs it."""
    default: bool = True
    """For optional components: whether the release's example/ installs it."""
    requires: tuple[tuple[str, str], ...] = ()
    """(component, why) pairs: what must be installed with this one."""
    namespace: str | None = None
    """Namespace set on a path that has none (installed upstream with `kubectl -n`)."""
    variants: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Alternative path sets by setting value, e.g. pipelines `definitions: kubernetes`."""

    def paths_for(self, variant: str | None) -> tuple[str, ...]:
        """The paths of `variant` (None: the default paths)."""
        for name, paths in self.variants:
            if name == variant:
                return paths
        return self.paths


@dataclass(frozen=True)
class Ownership:
    """An object built from a shared path that belongs to a specific component."""

    component: str
    kind: str
    name: str
    namespace: str | None = None

    def matches(self, kind: str, namespace: str | None, name: str) -> bool:
        """Whether this rule claims the object `kind namespace/name`."""
        return (self.kind, self.namespace, self.name) == (kind, namespace, name)


@dataclass(frozen=True)
class ReleaseCatalog:
    """Facts about one Kubeflow release, from the catalog or read from its example/."""

    version: str
    components: tuple[Component, ...]
    tested_kubernetes: str
    """The Kubernetes minor version the release was tested with (default of kubernetesVersion)."""
    supported_kubernetes: tuple[str, str]
    """Oldest and newest Kubernetes minor versions the release supports."""
    ownership: tuple[Ownership, ...] = ()
    known: bool = True
    """False when the release is not in the catalog and was read from its example/."""
    unrecognised: tuple[str, ...] = field(default=())
    """Paths of example/ that no known component claims (kept, with a warning)."""
    settings: Settings = DEFAULT_SETTINGS
    """Where the settings kfops changes live in this release's objects."""

    def component(self, name: str) -> Component:
        """The component called `name`."""
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)

    def owner_of(self, kind: str, namespace: str | None, name: str) -> str | None:
        """The component an ownership rule gives `kind namespace/name` to, if any."""
        for rule in self.ownership:
            if rule.matches(kind, namespace, name):
                return rule.component
        return None
