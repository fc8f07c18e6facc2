"""Downloads over HTTP, and where references to github.com are fetched from."""

from __future__ import annotations

import os

from kfops.config import size_text

GITHUB = "https://github.com"
#: A release archive (kubeflow/manifests is about 10 MB packed).
ARCHIVE_LIMIT = 512 << 20


class DownloadError(Exception):
    """A download failed; the message says why (callers add what was being fetched)."""


def github_base() -> str:
    """`KFOPS_GITHUB_URL` (a mirror, GitHub Enterprise, a test server) or https://github.com."""
    return os.environ.get("KFOPS_GITHUB_URL", GITHUB).rstrip("/")


def through_mirror(url: str, base: str) -> str:
    """`url` with a leading https://github.com replaced by `base`."""
    return base + url[len(GITHUB):] if url.startswith(GITHUB) else url


def download(url: str, timeout: float, limit: int = ARCHIVE_LIMIT) -> bytes:
    """The body of a 200 response to GET `url` (redirects followed), at most `limit` bytes."""
    import httpx  # noqa: PLC0415 - only a download needs it; keeps the CLI start fast

    chunks: list[bytes] = []
    size = 0
    try:
        with (httpx.Client(follow_redirects=True, timeout=timeout) as client,
              client.stream("GET", url) as response):
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:  # stop reading: a source never needs more
                    raise DownloadError(f"larger than {size_text(limit)}, the most kfops "
                                        "reads from such a download")
                chunks.append(chunk)
    except httpx.HTTPError as error:
        raise DownloadError(str(error) or type(error).__name__) from error
    return b"".join(chunks)
