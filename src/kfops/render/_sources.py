"""Third-party manifests named by a `source` field: a URL fetched once into the cache, or a path."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from kfops.config import LoadedPlatform, is_url
from kfops.errors import RenderError

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
            path = self.loaded.resolve_path(source)
            try:
                data = path.read_bytes()
            except OSError as error:
                raise RenderError(f"cannot read {source} ({path}): {error.strerror}") from None
        self.fetched[source] = hashlib.sha256(data).hexdigest()
        return data.decode("utf-8")

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
            data = download(through_mirror(url, github_base()), timeout=120)
        except DownloadError as error:
            raise RenderError(f"cannot fetch {url}: {error}") from None
        write_atomic(file, data)
        return data
