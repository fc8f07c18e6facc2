"""What changes between the installed release and the one being applied.

The installed side is what the cluster holds of the install (its ApplySet members,
the last apply's render plus what the API server filled in), so the comparison
works for any administrator, with or without the files of the last apply. The
catalog adds what the objects cannot show (kfops.catalog._upgrades).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kfops.catalog import (
    ONE_WAY,
    PROJECTS,
    REPLACEMENTS,
    ProjectPolicy,
    Replacement,
    release_line,
    version_numbers,
)
from kfops.objects import (
    WORKLOAD_KINDS,
    Identity,
    describe,
    identity_of,
    image_tag,
    split_reference,
    storage_version,
)

from ._immutable import ImmutableChange, immutable_changes

_RENAME_SIMILARITY = 0.6
"""difflib ratio above which a removed and an added name of one kind look like a rename."""
_HASH_SUFFIX = re.compile(r"-[a-z0-9]{10}$")
"""kustomize's content hash on generated ConfigMaps and Secrets: a new suffix is new content."""
_PSS = "pod-security.kubernetes.io/enforce"


@dataclass(frozen=True)
class StorageChange:
    """A CRD whose storage version changes: objects stored before keep the old version
    until rewritten."""

    crd: str
    old: str
    new: str


@dataclass(frozen=True)
class VersionJump:
    """A bundled project moving more minor versions than its own policy allows in one step."""

    project: str
    old: str
    new: str
    minors: int
    policy: ProjectPolicy


@dataclass(frozen=True)
class OneWayChange:
    """A change to stored data that the new version makes on first start."""

    what: str
    old: str
    new: str
    why: str
    url: str


@dataclass
class UpgradeChanges:
    """The upgrade section of a plan across releases."""

    installed: str
    target: str
    components_added: list[str] = field(default_factory=list)
    components_removed: list[str] = field(default_factory=list)
    replaced: list[Replacement] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    crds_added: list[str] = field(default_factory=list)
    crds_removed: list[str] = field(default_factory=list)
    storage: list[StorageChange] = field(default_factory=list)
    immutable: list[ImmutableChange] = field(default_factory=list)
    jumps: list[VersionJump] = field(default_factory=list)
    one_way: list[OneWayChange] = field(default_factory=list)
    pod_security: list[str] = field(default_factory=list)
    """Namespaces whose enforced Pod Security level changes (`ns: old → new`)."""


def upgrade_changes(installed: str, target: str, live: Sequence[dict[str, Any]],
                    new: Sequence[dict[str, Any]], *, live_components: Iterable[str],
                    new_components: Iterable[str]) -> UpgradeChanges:
    """Compare the install's live members (release `installed`) with the render of `target`."""
    old_by_id = {identity_of(o): o for o in live}
    new_by_id = {identity_of(o): o for o in new}
    gone = [old_by_id[i] for i in sorted(old_by_id.keys() - new_by_id.keys())
            if not _generated_variant(i, new_by_id)]
    came = [new_by_id[i] for i in sorted(new_by_id.keys() - old_by_id.keys())
            if not _generated_variant(i, old_by_id)]
    old_components, new_components = set(live_components), set(new_components)
    changes = UpgradeChanges(
        installed, target,
        components_added=sorted(new_components - old_components),
        components_removed=sorted(old_components - new_components),
        replaced=[r for r in _replacements(installed, target)
                  if r.component in new_components & old_components],
        crds_added=[_crd_name(o) for o in came if o["kind"] == "CustomResourceDefinition"],
        crds_removed=[_crd_name(o) for o in gone if o["kind"] == "CustomResourceDefinition"],
    )
    changes.moved, changes.renamed = _moves(gone, came)
    paired = {what for pair in changes.moved + changes.renamed for what in pair}
    changes.removed = [describe(o) for o in gone if o["kind"] != "CustomResourceDefinition"
                       and describe(o) not in paired]
    changes.added = [describe(o) for o in came if o["kind"] != "CustomResourceDefinition"
                     and describe(o) not in paired]
    both = sorted(old_by_id.keys() & new_by_id.keys())
    changes.storage = [s for i in both if (s := _storage_change(old_by_id[i], new_by_id[i]))]
    changes.immutable = [c for i in both for c in immutable_changes(old_by_id[i], new_by_id[i])]
    changes.pod_security = [p for i in both if (p := _pss_change(old_by_id[i], new_by_id[i]))]
    old_images, new_images = _images(live), _images(new)
    changes.jumps = _jumps(old_images, new_images)
    changes.one_way = _one_way(old_images, new_images)
    return changes


def _replacements(installed: str, target: str) -> tuple[Replacement, ...]:
    return REPLACEMENTS.get((release_line(installed), release_line(target)), ())


def _crd_name(crd: dict[str, Any]) -> str:
    return str(crd["metadata"]["name"])


def _generated_variant(identity: Identity, other: dict[Identity, dict[str, Any]]) -> bool:
    """A kustomize-generated ConfigMap or Secret whose hash suffix changed: new content
    under a new name, not an object added or removed."""
    _, kind, namespace, name = identity
    if kind not in ("ConfigMap", "Secret") or not _HASH_SUFFIX.search(name):
        return False
    stem = _HASH_SUFFIX.sub("", name)
    return any(k == kind and ns == namespace and _HASH_SUFFIX.sub("", n) == stem
               for _, k, ns, n in other)


def _moves(gone: list[dict[str, Any]],
           came: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Objects of one kind that left one namespace for another under the same name, and
    those whose name changed (the most similar pair first, each object paired once)."""
    moved, renamed, used = [], [], set()
    for old in gone:
        for new in came:
            if identity_of(new)[:2] == identity_of(old)[:2] and \
                    new["metadata"]["name"] == old["metadata"]["name"]:
                moved.append((describe(old), describe(new)))
                used.update({id(old), id(new)})
    candidates = sorted(
        ((difflib.SequenceMatcher(None, _name(old), _name(new)).ratio(), index, old, new)
         for index, (old, new) in enumerate((o, n) for o in gone for n in came)
         if identity_of(old)[:2] == identity_of(new)[:2]
         and old["kind"] != "CustomResourceDefinition"),
        key=lambda c: (-c[0], c[1]))
    for ratio, _, old, new in candidates:
        if ratio >= _RENAME_SIMILARITY and id(old) not in used and id(new) not in used:
            renamed.append((describe(old), describe(new)))
            used.update({id(old), id(new)})
    return moved, sorted(renamed)


def _name(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"])


def _storage_change(live: dict[str, Any], new: dict[str, Any]) -> StorageChange | None:
    if new["kind"] != "CustomResourceDefinition":
        return None
    old_version, new_version = storage_version(live), storage_version(new)
    if old_version and new_version and old_version != new_version:
        return StorageChange(_crd_name(new), old_version, new_version)
    return None


def _pss_change(live: dict[str, Any], new: dict[str, Any]) -> str | None:
    if new["kind"] != "Namespace":
        return None
    old_level = (live["metadata"].get("labels") or {}).get(_PSS, "privileged")
    new_level = (new["metadata"].get("labels") or {}).get(_PSS, "privileged")
    if old_level == new_level:
        return None
    return f"{new['metadata']['name']}: {old_level} → {new_level}"


Image = tuple[str, str]
"""(repository, version) of a container image; the version from its tag, or from its
workload's `app.kubernetes.io/version` label when pinned by digest."""
Containers = dict[tuple[Identity, str], Image]
"""Each workload container's image, by (workload, container name)."""


def _images(objects: Iterable[dict[str, Any]]) -> Containers:
    found: Containers = {}
    for obj in objects:
        if obj["kind"] not in WORKLOAD_KINDS:
            continue
        label = str((obj["metadata"].get("labels") or {}).get("app.kubernetes.io/version", ""))
        pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            image = str(container.get("image", ""))
            repository, tag = split_reference(image)[0], image_tag(image)
            found[(identity_of(obj), str(container.get("name")))] = (
                repository, tag if version_numbers(tag) else label)
    return found


def _pairs(old: Containers, new: Containers, pattern: str) -> list[tuple[str, str]]:
    """(old version, new version) of each container running `pattern`'s image in both."""
    pairs = []
    for key, (repository, after) in sorted(new.items()):
        before = old.get(key)
        if before and re.search(pattern, repository) and re.search(pattern, before[0]) \
                and version_numbers(before[1]) and version_numbers(after):
            pairs.append((before[1], after))
    return pairs


def _jumps(old: Containers, new: Containers) -> list[VersionJump]:
    jumps = []
    for policy in PROJECTS:
        for before, after in _pairs(old, new, policy.image)[:1]:
            a, b = version_numbers(before)[:2], version_numbers(after)[:2]
            minors = b[1] - a[1] if len(a) == len(b) == 2 and a[0] == b[0] else 0
            if minors > policy.minor_steps:
                jumps.append(VersionJump(policy.project, before, after, minors, policy))
    return jumps


def _one_way(old: Containers, new: Containers) -> list[OneWayChange]:
    found = []
    for change in ONE_WAY:
        for before, after in _pairs(old, new, change.image):
            if version_numbers(before) < change.crosses <= version_numbers(after):
                found.append(OneWayChange(change.what, before, after, change.why, change.url))
    return found
