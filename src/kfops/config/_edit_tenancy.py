"""Edits of `spec.profiles` (what `kfops profile ...` changes in the platform file)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ruamel.yaml.comments import CommentedMap

from kfops.errors import InputError

from ._edit import Change, entry_index, new_mapping, sequence_at


def add_profile(name: str, owner: str, quota: Mapping[str, str],
                pod_defaults: Sequence[str]) -> Change:
    """Add a profile to `spec.profiles`."""

    def change(tree: CommentedMap) -> None:
        entries = sequence_at(tree, "spec", "profiles")
        if entry_index(entries, "name", name) is not None:
            raise InputError(f"profile {name} is already in spec.profiles")
        values: dict[str, object] = {"name": name, "owner": owner}
        if quota:
            values["quota"] = dict(quota)
        if pod_defaults:
            values["podDefaults"] = list(pod_defaults)
        entries.append(new_mapping(values))

    return change


def remove_profile(name: str) -> Change:
    """Remove a profile from `spec.profiles`."""

    def change(tree: CommentedMap) -> None:
        entries = sequence_at(tree, "spec", "profiles")
        index = entry_index(entries, "name", name)
        if index is None:
            raise InputError(f"profile {name} is not in spec.profiles")
        del entries[index]

    return change


def set_contributor(profile: str, email: str, role: str) -> Change:
    """Add a contributor to a profile, or change their role."""

    def change(tree: CommentedMap) -> None:
        entry = _profile(tree, profile)
        if str(entry.get("owner", "")).lower() == email.lower():
            raise InputError(f"{email} owns profile {profile}; an owner is not a contributor")
        contributors = sequence_at(entry, "contributors")
        index = entry_index(contributors, "email", email)
        if index is None:
            contributors.append(new_mapping({"email": email, "role": role}))
        else:
            contributors[index]["role"] = role

    return change


def remove_contributor(profile: str, email: str) -> Change:
    """Remove a contributor from a profile."""

    def change(tree: CommentedMap) -> None:
        contributors = sequence_at(_profile(tree, profile), "contributors")
        index = entry_index(contributors, "email", email)
        if index is None:
            raise InputError(f"{email} is not a contributor of profile {profile}")
        del contributors[index]

    return change


def _profile(tree: CommentedMap, name: str) -> CommentedMap:
    entries = sequence_at(tree, "spec", "profiles")
    index = entry_index(entries, "name", name)
    if index is None:
        raise InputError(f"profile {name} is not in spec.profiles")
    entry = entries[index]
    if not isinstance(entry, CommentedMap):
        raise InputError(f"spec.profiles[{index}]: expected a mapping")
    return entry
