"""Reading the value a secret reference names: `{env}`, `{file}` or `{generate}`."""

from __future__ import annotations

import os

from kfops.config import LoadedPlatform, SecretRef
from kfops.errors import OperationError

from ._state import StateDir


class SecretUnavailable(OperationError):
    """A referenced secret could not be read (the message never holds the value)."""


def resolve(ref: SecretRef, loaded: LoadedPlatform, state: StateDir, name: str) -> str:
    """The value `ref` names; `name` identifies a generated value in the state directory."""
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            raise SecretUnavailable(f"environment variable {ref.env} is not set")
        return value
    if ref.file is not None:
        path = loaded.resolve_path(ref.file)
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SecretUnavailable(f"cannot read {path}: {error.strerror or error}") from None
    return state.generated(name)
