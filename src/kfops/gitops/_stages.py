"""The bundle as a GitOps tool applies it: stage by stage, what waits inside a stage, what
prune must keep. Pure functions of the Bundle, in the order kfops's apply engine uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from kfops.cluster import INJECT_ANNOTATIONS, KEEP, BundleFile, Kinds, apply_steps
from kfops.objects import STAGES, identity_of, is_profile
from kfops.render import Bundle

SECRETS_FOLDER = "secrets"
#: CRDs a Helm chart installs (Karpenter's), kept in the bundle to validate against.
SCHEMAS = "schemas"
#: The encrypted Secrets are applied after the namespaces (10) and before the stages that
#: read them (20, 30): kfops's apply sends a Secret with its component, after both.
SECRETS_WAVE = 15


@dataclass(frozen=True)
class Target:
    """A kustomize patch target: which objects a patch changes.

    Kustomize matches `name` and `namespace` as anchored regular expressions and
    `annotationSelector` as a label selector over annotations
    (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/patches/).
    """

    group: str = ""
    version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    annotation_selector: str = ""

    def as_dict(self) -> dict[str, str]:
        """The target as kustomize, Argo CD and Flux spell it (empty fields left out)."""
        fields = {"group": self.group, "version": self.version, "kind": self.kind,
                  "namespace": self.namespace, "name": self.name,
                  "annotationSelector": self.annotation_selector}
        return {key: value for key, value in fields.items() if value}


@dataclass(frozen=True)
class Stage:
    """One stage folder of the bundle and how a GitOps tool must treat its objects."""

    folder: str
    """The stage folder (`30-platform`), also the Application's or Kustomization's path."""
    files: tuple[str, ...]
    """The reviewable files of the folder, in apply order (Secrets are under secrets/)."""
    later: tuple[Target, ...]
    """Objects a webhook of the bundle intercepts: sent once the webhook answers."""
    kept: tuple[Target, ...]
    """Objects prune must never delete: PVCs, Profiles, anything annotated kfops.io/keep."""
    injected: tuple[tuple[str, str], ...]
    """(group, kind) of objects whose caBundle cert-manager's CA injector writes."""

    @property
    def wave(self) -> int:
        """The stage's place in the order: its number (`30-platform` -> 30)."""
        return int(self.folder.split("-", 1)[0])


def stages_of(bundle: Bundle) -> list[Stage]:
    """The stages of `bundle` that hold reviewable objects, in apply order."""
    later = _held_back(bundle)
    stages = []
    for folder in STAGES:
        paths = [p for p in bundle.files if p.split("/", 1)[0] == folder]
        objects = [o.obj for p in paths for o in bundle.files[p] if o.kind != "Secret"]
        if not objects:
            continue
        files = tuple(p.split("/", 1)[1] for p in paths
                      if any(o.kind != "Secret" for o in bundle.files[p]))
        stages.append(Stage(folder, files, later.get(folder, ()), _kept(objects),
                            _injected(objects)))
    return stages


def secret_files(bundle: Bundle) -> list[str]:
    """The bundle paths of the files holding Secrets (`secrets/30-platform/dex.yaml`)."""
    return [f"{SECRETS_FOLDER}/{path}" for path, items in bundle.files.items()
            if any(o.kind == "Secret" for o in items)]


def encrypted_name(secret_file: str) -> str:
    """The file an encrypted copy of `secret_file` goes to (`30-platform-dex.yaml`)."""
    return secret_file.removeprefix(f"{SECRETS_FOLDER}/").replace("/", "-")


def _held_back(bundle: Bundle) -> dict[str, tuple[Target, ...]]:
    """Per stage, targets for the objects kfops's apply holds until their webhooks answer
    (the steps kfops.cluster.apply_steps gates), grouped by kind and namespace."""
    files = [BundleFile(path, items[0].component, tuple(i.obj for i in items))
             for path, items in bundle.files.items() if items]
    stage_of = {identity_of(o): f.stage for f in files for o in f.objects}
    groups: dict[tuple[str, str, str, str, str], list[str]] = {}
    for step in apply_steps(files, _kinds(bundle)):
        if not step.needs:
            continue
        for obj in step.objects:
            if obj.get("kind") == "Secret":
                continue  # applied with the encrypted Secrets, before every webhook
            group, _, version = str(obj["apiVersion"]).rpartition("/")
            key = (stage_of[identity_of(obj)], group, version, str(obj["kind"]),
                   str(obj["metadata"].get("namespace") or ""))
            groups.setdefault(key, []).append(str(obj["metadata"]["name"]))
    result: dict[str, list[Target]] = {}
    for (stage, group, version, kind, namespace), names in groups.items():
        result.setdefault(stage, []).append(
            Target(group, version, kind, namespace, _exactly(sorted(set(names)))))
    return {stage: tuple(targets) for stage, targets in result.items()}


def _kinds(bundle: Bundle) -> Kinds:
    """The kinds the bundle's objects are of: built in, or defined by a CRD of the bundle,
    applied (00-crds, learnt by apply_steps) or installed by a Helm chart (schemas/)."""
    kinds = Kinds()
    for path, text in bundle.extra_files.items():
        if path.startswith(f"{SCHEMAS}/") and path.endswith(".yaml"):
            kinds.learn_crds_from([d for d in yaml.load_all(text, Loader=yaml.CSafeLoader)
                                   if isinstance(d, dict)])
    return kinds


def _exactly(names: list[str]) -> str:
    """A regular expression matching exactly `names` (kustomize anchors it; names are DNS
    subdomains, so a dot is the only character to escape)."""
    escaped = [name.replace(".", r"\.") for name in names]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _kept(objects: list[dict[str, Any]]) -> tuple[Target, ...]:
    """What kfops's prune and uninstall keep (kfops.cluster's data rules), as targets that
    match nothing else: every PVC, every Profile, anything annotated kfops.io/keep.

    kfops prunes a Profile from spec.profiles once its namespace holds no PVC;
    a GitOps tool cannot look into the namespace, so it keeps every Profile.
    """
    targets = []
    if any(o["kind"] == "PersistentVolumeClaim" for o in objects):
        targets.append(Target(version="v1", kind="PersistentVolumeClaim"))
    if any(is_profile(o) for o in objects):
        targets.append(Target(group="kubeflow.org", kind="Profile"))
    if any(KEEP in (o["metadata"].get("annotations") or {}) for o in objects):
        targets.append(Target(annotation_selector=KEEP))
    return tuple(targets)


def _injected(objects: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    found = []
    for obj in objects:
        annotations = obj["metadata"].get("annotations") or {}
        if any(key in annotations for key in INJECT_ANNOTATIONS):
            group = str(obj["apiVersion"]).rpartition("/")[0]
            if (group, obj["kind"]) not in found:
                found.append((group, str(obj["kind"])))
    return tuple(sorted(found))
