"""Downloads over HTTP, and where references to github.com are fetched from."""

from __future__ import annotations

import os

GITHUB = "https://github.com"


class DownloadError(Exception):
    """A download failed; the message says why (callers add what was being fetched)."""


def github_base() -> str:
    """`KFOPS_GITHUB_URL` (a mirror, GitHub Enterprise, a test server) or https://github.com."""
    return os.environ.get("KFOPS_GITHUB_URL", GITHUB).rstrip("/")


def through_mirror(url: str, base: str) -> str:
    """`url` with a leading https://github.com replaced by `base`."""
    return base + url[len(GITHUB):] if url.startswith(GITHUB) else url


def download(url: str, timeout: float) -> bytes:
    """The body of a 200 response to GET `url` (redirects followed)."""
    import httpx  # noqa: PLC0415 - only a download needs it; keeps the CLI start fast

    try:
        with httpx.Client(follow_redirects=True, timeout=timeout) as client:
            response = client.get(url)
    except httpx.HTTPError as error:
        raise DownloadError(str(error) or type(error).__name__) from None
    if response.status_code != 200:
        raise DownloadError(f"HTTP {response.status_code}")
    return response.content
