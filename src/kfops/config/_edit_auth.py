"""Edits of `spec.auth.users` (what `kfops user ...` changes in the platform file)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap

from kfops.errors import InputError

from ._edit import Change, entry_index, new_mapping, sequence_at
from ._loader import PLACEHOLDER


@dataclass(frozen=True)
class UserEntry:
    """A static user as the file holds it: e-mail, optional username, bcrypt hash."""

    email: str
    username: str | None
    password_hash: str


def add_users(users: Sequence[UserEntry], replace: bool = False) -> Change:
    """Add users to `spec.auth.users`; with `replace`, a listed e-mail gets the new entry."""

    def change(tree: CommentedMap) -> None:
        entries = sequence_at(tree, "spec", "auth", "users")
        # The starter's "<fill in: ...>" user is the one these users stand in for.
        for position in reversed(range(len(entries))):
            if _placeholder_entry(entries[position]):
                del entries[position]
        for user in users:
            index = entry_index(entries, "email", user.email)
            if index is not None and not replace:
                raise InputError(f"{user.email} is already in spec.auth.users "
                                 "(`kfops user passwd` changes a password)")
            values = {"email": user.email, "passwordHash": user.password_hash}
            if user.username:
                values = {"email": user.email, "username": user.username,
                          "passwordHash": user.password_hash}
            if index is None:
                entries.append(new_mapping(values))
            else:
                entry = entries[index]
                entry["passwordHash"] = user.password_hash
                if user.username:
                    entry["username"] = user.username

    return change


def _placeholder_entry(entry: object) -> bool:
    return isinstance(entry, dict) and PLACEHOLDER.match(str(entry.get("email", ""))) is not None


def set_user_password(email: str, password_hash: str) -> Change:
    """Replace a listed user's password hash."""

    def change(tree: CommentedMap) -> None:
        entries = sequence_at(tree, "spec", "auth", "users")
        index = entry_index(entries, "email", email)
        if index is None:
            raise InputError(f"{email} is not in spec.auth.users (`kfops user add` adds it)")
        entries[index]["passwordHash"] = password_hash

    return change


def remove_user(email: str) -> Change:
    """Remove a user from `spec.auth.users`."""

    def change(tree: CommentedMap) -> None:
        entries = sequence_at(tree, "spec", "auth", "users")
        index = entry_index(entries, "email", email)
        if index is None:
            raise InputError(f"{email} is not in spec.auth.users")
        del entries[index]

    return change
