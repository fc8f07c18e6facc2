"""`spec.patches`: the administrator's own changes, applied by kustomize after kfops's.

kustomize applies each patch (kubectl.docs.kubernetes.io/references/kustomize/
kustomization/patches/), so a strategic merge patch merges lists by the keys the
Kubernetes API documents (containers by name...) and a JSON 6902 patch is exact.
Patches run one by one in the order written, each over the objects its target
may select (same kind, group, version). A marker patch with the same target runs
first, so kfops knows exactly which objects the target selected: a target that
selects nothing is an error naming it, since a typo must not pass silently. What
each patch changed is recorded in the lock (`patches`) and shown by `kfops render`.
"""

from __future__ import annotations

import difflib
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfops.config import MANIFEST_FILE_LIMIT, FileRefused, LoadedPlatform, Patch
from kfops.errors import ConfigError, InputError, KustomizeError
from kfops.objects import Identity, describe, identity_of

from ._contributions import EditableBundle, Phase, RenderContext
from ._documents import dump_document, load_any, split_documents
from ._kustomize import Kustomize, find_kustomize
from ._objects import BundleObject

#: The label a marker patch adds to every object its target selects (removed afterwards).
_MARKER = "kfops.io/patch-target"
#: JSON 6902 operations (RFC 6902 section 4).
_OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


@dataclass(frozen=True)
class _Step:
    """One patch as kustomize takes it: a target and a patch text."""

    target: dict[str, str]
    text: str


@dataclass(frozen=True)
class _Prepared:
    """One entry of spec.patches, read, checked and split into kustomize's steps."""

    index: int
    steps: tuple[_Step, ...]
    shown: str
    """The target as errors and the report show it."""


class UserPatches:
    """Applies `spec.patches` in order, after every feature of kfops shaped the bundle."""

    name = "patches"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Apply every patch; record what each changed."""
        loaded = context.loaded
        if not loaded.platform.spec.patches:
            return
        kustomize = find_kustomize()
        report = []
        for index, patch in enumerate(loaded.platform.spec.patches):
            prepared = _prepare(loaded, index, patch)
            changed = _apply(kustomize, loaded, prepared, bundle)
            report.append({"patch": f"spec.patches[{index}]", "target": prepared.shown,
                           "changed": changed})
        bundle.record("patches", report)


def _prepare(loaded: LoadedPlatform, index: int, patch: Patch) -> _Prepared:
    """The patch read (inline or from its file), parsed and turned into kustomize steps."""
    loc = ("spec", "patches", index)
    text, origin, first_line = _patch_text(loaded, index, patch)
    try:
        documents = [d for d in load_any(text, origin, first_line) if d is not None]
    except InputError as error:
        raise ConfigError([loaded.problem((*loc, "path" if patch.path else "patch"),
                                          str(error))]) from None
    if not documents:
        raise ConfigError([loaded.problem((*loc, "patch"), "the patch is empty")])
    if patch.target is not None:
        target = {k: v for k, v in patch.target.model_dump(by_alias=True).items()
                  if v is not None}
        if len(documents) > 1:
            raise ConfigError([loaded.problem((*loc, "patch"), (
                "a patch with a target holds one document; write one entry per patch"))])
        _check_patch(loaded, loc, documents[0])
        # Written anew from what was parsed: kustomize reads a JSON 6902 patch as JSON or a
        # block list only, and a strategic merge patch only with its object's header.
        text = (dump_document(_with_header(documents[0], target))
                if isinstance(documents[0], dict) else json.dumps(documents[0]))
        return _Prepared(index, (_Step(target, text),), _shown(target))
    steps = []
    for document in documents:
        if isinstance(document, list):
            raise ConfigError([loaded.problem(loc, (
                "a JSON 6902 patch (a list of operations) needs a target: it names no object "
                "itself"))])
        _check_patch(loaded, loc, document)
        steps.append(_Step(_own_target(loaded, loc, document), dump_document(document)))
    return _Prepared(index, tuple(steps), "; ".join(_shown(s.target) for s in steps))


def _with_header(document: dict[str, Any], target: dict[str, str]) -> dict[str, Any]:
    """A targeted strategic merge patch with the apiVersion, kind and name kustomize wants.

    kustomize parses such a patch as an object, yet merges it into each selected
    object by that object's own schema and keeps its apiVersion, kind and name; so
    a patch may leave them out, as in `spec: {template: ...}`.
    """
    metadata = document.get("metadata")
    header = {"apiVersion": "v1", "kind": target.get("kind", "Patch"),
              "metadata": {"name": "kfops-patch", **(metadata if isinstance(metadata, dict)
                                                     else {})}}
    return {**header, **{k: v for k, v in document.items() if k != "metadata"}}


def _patch_text(loaded: LoadedPlatform, index: int, patch: Patch) -> tuple[str, str, int]:
    """(text, origin for errors, the file line the text starts after)."""
    if patch.patch is not None:
        line = loaded.lines.line_of(("spec", "patches", index, "patch")) or 0
        return patch.patch, f"{loaded.path.name} spec.patches[{index}].patch", line
    assert patch.path is not None
    try:
        data = loaded.read_file(patch.path, MANIFEST_FILE_LIMIT)
        return data.decode("utf-8"), patch.path, 0
    except FileRefused as error:
        problem = str(error)
    except UnicodeDecodeError:
        problem = f"{patch.path} is not UTF-8 text"
    raise ConfigError([loaded.problem(("spec", "patches", index, "path"), problem)])


def _check_patch(loaded: LoadedPlatform, loc: tuple[str | int, ...], document: Any) -> None:
    """A patch is a partial object (strategic merge) or a list of RFC 6902 operations."""
    problem = None
    if isinstance(document, list):
        for number, operation in enumerate(document):
            if not (isinstance(operation, dict) and operation.get("op") in _OPERATIONS
                    and isinstance(operation.get("path"), str)
                    and operation["path"].startswith("/")):
                problem = (f"operation {number} of the JSON 6902 patch needs `op` (one of "
                           f"{', '.join(_OPERATIONS)}) and a `path` starting with /")
                break
    elif not isinstance(document, dict):
        problem = ("expected a strategic merge patch (a partial object) or a JSON 6902 patch "
                   "(a list of operations)")
    if problem:
        raise ConfigError([loaded.problem((*loc, "patch"), problem)])


def _own_target(loaded: LoadedPlatform, loc: tuple[str | int, ...],
                document: dict[str, Any]) -> dict[str, str]:
    """The target a strategic merge patch without one names itself (kustomize's meaning)."""
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    kind, api_version = document.get("kind"), document.get("apiVersion")
    if not (isinstance(kind, str) and isinstance(api_version, str) and isinstance(name, str)):
        raise ConfigError([loaded.problem(loc, (
            "a patch without a target names its object itself: apiVersion, kind and "
            "metadata.name (and metadata.namespace); or give a target"))])
    group, _, version = api_version.rpartition("/")
    target = {"group": group, "version": version, "kind": kind, "name": re.escape(name)}
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    if isinstance(namespace, str):
        target["namespace"] = re.escape(namespace)
    return target


def _shown(target: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in target.items())


def _apply(kustomize: Kustomize, loaded: LoadedPlatform, prepared: _Prepared,
           bundle: EditableBundle) -> list[str]:
    """Apply one prepared patch to the bundle; the objects it changed, described."""
    candidates = [item for item in bundle.items
                  if any(_may_select(step.target, item) for step in prepared.steps)]
    selected: dict[Identity, dict[str, Any]] = {}
    if candidates:
        selected = _build(kustomize, loaded, prepared, candidates)
    if not selected:
        raise ConfigError([_no_match(loaded, prepared, bundle)])
    changed = []
    by_identity = {item.identity: item for item in candidates}
    for identity, result in selected.items():
        item = by_identity.get(identity)
        if item is None:
            raise ConfigError([loaded.problem(("spec", "patches", prepared.index), (
                f"the patch changes the kind, name or namespace of an object (the result has "
                f"{describe(result)}); kfops keeps them so plan and prune can follow the "
                "object"))])
        bundle.label(result)  # kfops's labels stay, whatever a patch did
        if result != item.obj:
            edited = bundle.edit(item)
            edited.clear()
            edited.update(result)
            changed.append(describe(result))
    if not changed:
        bundle.warn(f"spec.patches[{prepared.index}] ({prepared.shown}) selects "
                    f"{len(selected)} object(s) but changes none of them")
    return sorted(changed)


def _may_select(target: dict[str, str], item: BundleObject) -> bool:
    """Whether kustomize's selector could select `item` (group, version, kind compared
    exactly, as kustomize does; names and selectors are left to kustomize)."""
    group, _, version = str(item.obj.get("apiVersion", "")).rpartition("/")
    wanted = {"group": group, "version": version, "kind": item.kind}
    return all(target[key] == value for key, value in wanted.items() if key in target)


def _build(kustomize: Kustomize, loaded: LoadedPlatform, prepared: _Prepared,
           candidates: Sequence[BundleObject]) -> dict[Identity, dict[str, Any]]:
    """The objects the patch's target selected, after the patch, by their identity."""
    patches: list[dict[str, Any]] = []
    for step in prepared.steps:
        marker = [{"op": "add", "path": "/metadata/labels/" + _MARKER.replace("/", "~1"),
                   "value": "selected"}]
        patches += [{"target": step.target, "patch": yaml.safe_dump(marker)},
                    {"target": step.target, "patch": step.text}]
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": ["objects.yaml"], "patches": patches}
    with tempfile.TemporaryDirectory(prefix="kfops-patch-") as folder:
        root = Path(folder)
        # From the objects, not their texts: a feature's edits are written out only at the end.
        (root / "objects.yaml").write_text(
            "---\n".join(dump_document(item.obj) for item in candidates))
        (root / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        try:
            stream = kustomize.build(root)
        except KustomizeError as error:
            reason = str(error).split("\n", 1)[-1].replace(str(root), "the bundle")
            raise ConfigError([loaded.problem(("spec", "patches", prepared.index), (
                f"kustomize cannot apply it: {reason}"))]) from None
    selected = {}
    for _, obj in split_documents(stream):
        labels = obj.get("metadata", {}).get("labels") or {}
        if labels.pop(_MARKER, None) is not None:
            selected[identity_of(obj)] = obj
    return selected


def _no_match(loaded: LoadedPlatform, prepared: _Prepared, bundle: EditableBundle) -> Any:
    """The problem for a target that selects nothing, with the nearest names of its kind."""
    kinds = {step.target.get("kind") for step in prepared.steps}
    of_kind = {str(item.obj.get("metadata", {}).get("name", "")): describe(item.obj)
               for item in bundle.items if item.kind in kinds or None in kinds}
    near = [of_kind[name] for step in prepared.steps if "name" in step.target
            for name in difflib.get_close_matches(step.target["name"].replace("\\", ""),
                                                  list(of_kind), n=3, cutoff=0.6)]
    hint = f"; nearest: {', '.join(near)}" if near else ""
    loc: tuple[str | int, ...] = ("spec", "patches", prepared.index)
    has_target = loaded.platform.spec.patches[prepared.index].target is not None
    return loaded.problem((*loc, "target") if has_target else loc, (
        f"selects no object of the bundle ({prepared.shown}): name and namespace are "
        f"regular expressions matched against the whole value, group, version and kind "
        f"exact{hint}"))
