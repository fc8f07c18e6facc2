"""The skopeo command line: copies between registries and OCI layouts, manifest digests.

skopeo (Debian package `skopeo`) copies every architecture of an index
(`--all`) with digests unchanged (`--preserve-digests`), and reuses blobs the
destination already has, so an interrupted copy resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kfops.errors import SkopeoError

_ABSENT = ("manifest unknown", "not found", "name unknown", "no such file")


@dataclass(frozen=True)
class Skopeo:
    """How to call skopeo: credentials, and whether the destination skips TLS verification."""

    authfile: Path | None = None
    """Registry credentials (default: skopeo's, ${XDG_RUNTIME_DIR}/containers/auth.json)."""
    insecure_destination: bool = False
    """Plain HTTP or an untrusted certificate at the destination (`airgap.insecure`)."""
    retries: int = 3

    def manifest(self, reference: str, destination: bool = False) -> bytes | None:
        """The raw manifest (or index) of a `docker://` or `oci:` reference; None if absent."""
        tls = ["--tls-verify=false"] if destination and self._insecure(reference) else []
        result = self._run(["inspect", "--raw", *self._auth(""), *tls, reference])
        if result.returncode != 0:
            text = result.stderr.decode(errors="replace")
            if any(word in text for word in _ABSENT):
                return None
            raise SkopeoError(f"skopeo inspect {reference}: {_reason(text)}")
        return result.stdout

    def digest(self, reference: str, destination: bool = False) -> str | None:
        """The manifest (or index) digest of a reference; None if absent."""
        raw = self.manifest(reference, destination)
        return None if raw is None else self.digest_of(raw)

    @staticmethod
    def digest_of(manifest: bytes) -> str:
        """The digest of a raw manifest, as registries name it."""
        return "sha256:" + hashlib.sha256(manifest).hexdigest()

    def copy(self, source: str, destination: str) -> None:
        """Copy every architecture of `source` to `destination`, digests unchanged."""
        tls = ["--dest-tls-verify=false"] if self._insecure(destination) else []
        result = self._run(["copy", "--all", "--preserve-digests", "--retry-times",
                            str(self.retries), *self._auth("src-"), *self._auth("dest-"), *tls,
                            source, destination])
        if result.returncode != 0:
            raise SkopeoError(_reason(result.stderr.decode(errors="replace")))

    def _insecure(self, reference: str) -> bool:
        return self.insecure_destination and reference.startswith("docker://")

    def _auth(self, side: str) -> list[str]:
        return [f"--{side}authfile", str(self.authfile)] if self.authfile else []

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[bytes]:
        found = shutil.which("skopeo")
        if found is None:
            raise SkopeoError("skopeo is not installed: apt-get install skopeo (Debian, Ubuntu) "
                              "or dnf install skopeo")
        # Its own session: Ctrl-C on kfops lets a copy under way finish instead of killing it.
        return subprocess.run([found, *args], capture_output=True, check=False,
                              start_new_session=True)


def _reason(stderr: str) -> str:
    """skopeo's last message line, without its log decoration."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "failed"
    return last.split('msg="', 1)[-1].rstrip('"')[:400]
