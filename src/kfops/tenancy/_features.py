"""`spec.profiles` in the render: each Profile and the objects of its namespace."""

from __future__ import annotations

from kfops.errors import ConfigError, ConfigProblem
from kfops.render import Contribution, EditableBundle, Phase, RenderContext

from ._profiles import namespace_objects, profile_object

COMPONENT = "tenancy"
_NEEDS = {"Profile": ("profiles.kubeflow.org", "profiles"),
          "PodDefault": ("poddefaults.kubeflow.org", "admissionWebhook")}


class Profiles:
    """Profiles, contributors (as KFAM writes them), quotas and PodDefaults from the file."""

    name = COMPONENT
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Add every profile's objects."""
        spec = context.loaded.platform.spec
        problems: list[ConfigProblem] = []
        for index, profile in enumerate(spec.profiles):
            if bundle.find("Profile", profile.name) is not None:
                problems.append(context.loaded.problem(
                    ("spec", "profiles", index, "name"),
                    f"{profile.name} is a Profile the release itself installs; choose another "
                    "name"))
                continue
            objects = [profile_object(profile.name, profile.owner, profile.quota),
                       *namespace_objects(profile, spec.gpu.taint)]
            problems += _missing_crds(context, bundle, index, {o["kind"] for o in objects})
            for obj in objects:
                bundle.add(obj, COMPONENT, "spec.profiles")
        if problems:
            raise ConfigError(problems)


def _missing_crds(context: RenderContext, bundle: EditableBundle, index: int,
                  kinds: set[str]) -> list[ConfigProblem]:
    problems = []
    for kind in sorted(kinds & set(_NEEDS)):
        crd, component = _NEEDS[kind]
        if bundle.find("CustomResourceDefinition", crd) is None:
            field = "podDefaults" if kind == "PodDefault" else "name"
            problems.append(context.loaded.problem(
                ("spec", "profiles", index, field),
                f"a {kind} needs the {component} component, whose {crd} CRD this release "
                "does not install"))
    return problems


class ReservedNames:
    """No profile is named after a namespace the platform itself uses (run after every feature).

    A Profile's namespace belongs to the profile controller; naming one after
    `istio-system` or `kubeflow` would hand a platform namespace to a team.
    """

    name = "reservedProfileNames"
    phase = Phase.CHECKS

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Refuse profiles whose names are namespaces of the rest of the bundle."""
        platform = set()
        for item in bundle.items:
            if item.component == COMPONENT:
                continue
            namespace = item.obj["metadata"].get("namespace")
            if namespace:
                platform.add(str(namespace))
            if item.kind in ("Namespace", "Profile"):
                platform.add(str(item.obj["metadata"]["name"]))
        problems = [context.loaded.problem(
            ("spec", "profiles", index, "name"),
            f"{profile.name} is a namespace the platform itself uses; choose another name")
            for index, profile in enumerate(context.loaded.platform.spec.profiles)
            if profile.name in platform]
        if problems:
            raise ConfigError(problems)


def tenancy_features() -> tuple[Contribution, ...]:
    """The tenancy features of a platform."""
    return (Profiles(),)


def tenancy_checks() -> tuple[Contribution, ...]:
    """Checks that need the whole bundle: they run after every other feature."""
    return (ReservedNames(),)
