"""Third-party manifests named by a `source` field: a URL fetched once into the cache, or a path."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfops.config import MANIFEST_FILE_LIMIT, FileRefused, LoadedPlatform, is_url
from kfops.errors import InputError, RenderError

from ._documents import load_documents
from ._http import DownloadError, download, github_base, through_mirror
from ._paths import sha256_text, write_atomic


@dataclass
class SourceFetcher:
    """Reads `source` files (URLs through the cache, paths relative to the platform file)."""

    loaded: LoadedPlatform
    cache: Path
    offline: bool
    fetched: dict[str, str] = field(default_factory=dict)
    """What was read: source -> sha256, for kfops.lock."""

    def read(self, source: str) -> str:
        """The text of `source`; the error names the field's value and where it looked."""
        if is_url(source):
            data = self._cached(source)
        else:
            try:
                data = self.loaded.read_file(source, MANIFEST_FILE_LIMIT)
            except FileRefused as error:
                raise InputError(str(error)) from None  # adds nothing: its message is here
        self.fetched[source] = hashlib.sha256(data).hexdigest()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            # no cause: it holds the bytes (a Secret's maybe)
            raise InputError(f"{source} is not UTF-8 text (a YAML manifest is)") from None

    def documents(self, source: str) -> list[dict[str, Any]]:
        """The mapping documents of the manifest `source`, parsed within bounds."""
        return load_documents(self.read(source), origin=source)

    def join(self, folder: str, name: str) -> str:
        """`name` inside the folder `folder` (a URL or a path)."""
        return f"{folder.rstrip('/')}/{name}"

    def _cached(self, url: str) -> bytes:
        file = self.cache / "sources" / sha256_text(url)[:32] / url.rstrip("/").rsplit("/", 1)[-1]
        if file.exists():
            return file.read_bytes()
        if self.offline:
            raise RenderError(f"{url} is not in the cache ({file}) and --offline forbids "
                              "fetching it; give a local path instead")
        try:
            data = download(through_mirror(url, github_base()), timeout=120,
                            limit=MANIFEST_FILE_LIMIT)
        except DownloadError as error:
            raise RenderError(f"cannot fetch {url}: {error}") from error
        write_atomic(file, data)
        return data
