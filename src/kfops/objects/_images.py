"""The grammar of container image references: validity, normal form, parts, and references
inside free text (https://github.com/distribution/reference/blob/main/reference.go)."""

from __future__ import annotations

import re

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?)"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
#: A whole reference, as the distribution project's grammar defines it.
_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?$")
#: A reference inside free text: only with a registry host (a dot) and a tag or digest.
#: A tag inside text ends with a word character (a final dot or dash belongs to the prose).
_TEXT_TAG = r"[\w](?:[\w.-]{0,126}[\w])?"
#: Where a reference inside text starts and ends: not inside a longer word, path or reference
#: (a dot or colon ends one only when no word character follows: prose, not a longer tag).
_START = r"(?<![\w./:@-])"
_END = r"(?![\w/@]|[.:-]\w)"
_EMBEDDED = re.compile(
    rf"{_START}(?:[a-z0-9-]+\.)+[a-z]{{2,}}(?::[0-9]+)?/{_COMPONENT}(?:/{_COMPONENT})*"
    rf"(?:(?::{_TEXT_TAG})(?:@{_DIGEST})?|@{_DIGEST}){_END}")


def is_reference(value: str) -> bool:
    """Whether `value` is a valid reference (a single word such as `alibi` is one)."""
    return bool(_REFERENCE.match(value))


def is_image_reference(value: str) -> bool:
    """Whether `value` reads as an image: a valid reference with a path, tag or digest.

    Single words (`disabled`, `Always`) are valid repository names but never
    images in practice, so they do not count.
    """
    return is_reference(value) and any(c in value for c in "/:@")


def references_in(text: str) -> list[str]:
    """The references written inside free text, in order (with a registry host and a tag
    or digest; not inside a longer word, path or reference)."""
    return _EMBEDDED.findall(text)


def replace_reference(text: str, old: str, new: str) -> str:
    """`text` with the reference `old` replaced by `new` wherever it stands whole (not as
    part of a longer word, path or reference)."""
    return re.sub(f"{_START}{re.escape(old)}{_END}", lambda _: new, text)


def normalise_image(reference: str) -> str:
    """`busybox:1.28` -> `docker.io/library/busybox:1.28`; adds `:latest` when untagged."""
    name, at, digest = reference.partition("@")
    first, slash, rest = name.partition("/")
    if not slash:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    elif first in ("index.docker.io", "registry-1.docker.io"):
        name = f"docker.io/{rest}"
    if name.startswith("docker.io/") and name.count("/") == 1:
        name = f"docker.io/library/{name.removeprefix('docker.io/')}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not at:
        name += ":latest"
    return f"{name}{at}{digest}"


def split_reference(reference: str) -> tuple[str, str]:
    """(repository, `:tag@digest` as written) of a reference."""
    name, at, digest = reference.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = name.rpartition(":")
        return repository, f":{tag}" + (f"@{digest}" if at else "")
    return name, f"@{digest}" if at else ""


def image_tag(reference: str) -> str:
    """The tag of a reference ("" when it has none, e.g. pinned by digest only)."""
    return split_reference(reference)[1].partition("@")[0].lstrip(":")
