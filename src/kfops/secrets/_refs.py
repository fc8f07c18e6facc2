"""Reading the value a secret reference names: `{env}`, `{file}` or `{generate}`."""

from __future__ import annotations

import os

from kfops.config import SECRET_FILE_LIMIT, FileRefused, LoadedPlatform, SecretRef
from kfops.errors import SecretUnavailable
from kfops.render import GeneratedValues

from ._state import random_token


def resolve(ref: SecretRef, loaded: LoadedPlatform, state: GeneratedValues, name: str) -> str:
    """The value `ref` names; `name` identifies a generated value in the state directory."""
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            raise SecretUnavailable(f"environment variable {ref.env} is not set")
        return value
    if ref.file is not None:
        # The same rules as the platform file's check: a regular file below 1 MiB, inside the
        # allowed folders (read again here, so a file swapped since the check is caught too).
        try:
            return loaded.read_file(ref.file, SECRET_FILE_LIMIT).decode("utf-8").strip()
        except FileRefused as error:
            raise SecretUnavailable(str(error)) from None  # adds nothing: its message is here
        except UnicodeDecodeError:
            # no cause: it holds the secret's bytes
            raise SecretUnavailable(f"{ref.file} is not UTF-8 text") from None
    return state.generated(name, random_token)
