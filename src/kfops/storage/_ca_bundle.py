"""`spec.objectStore.caBundle`: the CA the store's certificate chains to, read and checked."""

from __future__ import annotations

from pathlib import Path

from kfops.config import SECRET_FILE_LIMIT, FileRefused, LoadedPlatform, ObjectStore
from kfops.errors import SecretUnavailable

_AT = "spec.objectStore.caBundle.file"


def ca_bundle_pem(loaded: LoadedPlatform, store: ObjectStore) -> str | None:
    """The PEM text of `caBundle` (None without one); SecretUnavailable naming the field."""
    if store.ca_bundle is None:
        return None
    try:
        text = loaded.read_file(store.ca_bundle.file, SECRET_FILE_LIMIT).decode("utf-8")
    except (FileRefused, UnicodeDecodeError) as error:
        raise SecretUnavailable(f"{_AT}: {error}") from None  # the message is all it holds
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise SecretUnavailable(f"{_AT}: {store.ca_bundle.file} holds no PEM certificate "
                                "(-----BEGIN CERTIFICATE-----)")
    return text


def ca_bundle_path(loaded: LoadedPlatform, store: ObjectStore) -> Path | None:
    """The checked `caBundle` file (None without one), for clients that take a path."""
    if ca_bundle_pem(loaded, store) is None:
        return None
    assert store.ca_bundle is not None
    return loaded.path_rules().check(store.ca_bundle.file, "file")
