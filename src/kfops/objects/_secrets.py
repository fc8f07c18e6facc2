"""Values of Secrets held as plain dicts (`stringData` or base64 `data`)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from kfops.errors import OperationError

from ._identity import describe


def secret_value(secret: dict[str, Any], key: str) -> str | None:
    """A Secret's value for `key` (from `stringData` or decoded `data`), or None.

    OperationError, naming the Secret and key, when `data` holds no base64 text.
    """
    if key in (secret.get("stringData") or {}):
        return str(secret["stringData"][key])
    encoded = (secret.get("data") or {}).get(key)
    if encoded is None:
        return None
    try:
        return base64.b64decode(str(encoded), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        # no cause: it holds the Secret's bytes
        raise OperationError(f"{describe(secret)}: data.{key} is not base64 of UTF-8 text "
                             "(edited by hand?); fix or remove that key") from None


def set_secret_value(secret: dict[str, Any], key: str, value: str) -> None:
    """Set `key` in a Secret's `data` (base64), dropping it from `stringData`.

    `data` is what the API server stores and returns; writing it keeps a later
    comparison with the live object exact.
    """
    string_data = secret.get("stringData") or {}
    string_data.pop(key, None)
    if not string_data:
        secret.pop("stringData", None)
    secret.setdefault("data", {})[key] = base64.b64encode(value.encode()).decode()
