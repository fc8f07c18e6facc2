"""Small OCI images made by the tests themselves (layers shared on purpose, one multi-arch index),
and Debian's docker-registry servers on 127.0.0.1 to push them to."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def layer(name: str, size: int, seed: int) -> bytes:
    """A gzip'ed tar holding one file of `size` pseudo-random (incompressible) bytes."""
    data = random.Random(seed).randbytes(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(data), 0
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


class Layout:
    """An OCI image layout on disk that images are added to."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs/sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self.index: list[dict[str, Any]] = []

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs/sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    def manifest(self, layers: Sequence[bytes], arch: str = "amd64") -> dict[str, Any]:
        diff_ids = [f"sha256:{hashlib.sha256(gzip.decompress(b)).hexdigest()}" for b in layers]
        config = self.blob(json.dumps({
            "architecture": arch, "os": "linux", "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode(), OCI_CONFIG)
        return self.blob(json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
            "layers": [self.blob(b, OCI_LAYER) for b in layers]}).encode(), OCI_MANIFEST)

    def image(self, ref: str, layers: Sequence[bytes]) -> None:
        self._name(self.manifest(layers), ref)

    def multi_arch(self, ref: str, per_arch: dict[str, Sequence[bytes]]) -> None:
        manifests = [{**self.manifest(layers, arch), "platform": {"architecture": arch,
                                                                  "os": "linux"}}
                     for arch, layers in per_arch.items()]
        self._name(self.blob(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                         "manifests": manifests}).encode(), OCI_INDEX), ref)

    def _name(self, descriptor: dict[str, Any], ref: str) -> None:
        self.index.append({**descriptor, "annotations": {
            "org.opencontainers.image.ref.name": ref}})
        (self.root / "index.json").write_text(json.dumps({
            "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.index}))


@dataclass
class Registry:
    """A docker-registry server on 127.0.0.1 and its storage folder."""

    host: str
    storage: Path

    def blob_bytes(self) -> int:
        """What the registry stores in blobs (each stored once, however many images use it)."""
        root = self.storage / "docker/registry/v2/blobs"
        return sum(p.stat().st_size for p in root.rglob("data")) if root.exists() else 0

    def catalog(self) -> list[str]:
        with urllib.request.urlopen(f"http://{self.host}/v2/_catalog") as answer:
            return list(json.load(answer)["repositories"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_registry(folder: Path, users: dict[str, str] | None = None) -> Iterator[Registry]:
    """Debian's docker-registry on a free port, storing under `folder`; with `users`
    (name -> password), only they may use it (htpasswd, bcrypt)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry is not installed: run scripts/install-system-deps")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yml"
    settings: dict[str, Any] = {
        "version": 0.1, "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(folder / "data")},
                    "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"}}
    if users:
        htpasswd = folder / "htpasswd"
        htpasswd.write_text("".join(
            f"{name}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(5)).decode()}\n"
            for name, password in users.items()))
        settings["auth"] = {"htpasswd": {"realm": "tests", "path": str(htpasswd)}}
    config.write_text(json.dumps(settings))
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # 401: up, and asking for credentials
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("docker-registry did not start") from None
                time.sleep(0.05)
        yield Registry(f"127.0.0.1:{port}", folder / "data")
    finally:
        process.terminate()
        process.wait(timeout=10)


def insecure_registries_conf(home: Path, hosts: Sequence[str]) -> Path:
    """The user's containers registries.conf (under $HOME, as skopeo reads it), letting skopeo
    use these registries over plain HTTP."""
    path = home / ".config/containers/registries.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f'[[registry]]\nlocation = "{host}"\ninsecure = true\n\n'
                            for host in hosts))
    return path


def standing_in_registries_conf(home: Path, registry: str, hosts: Sequence[str]) -> Path:
    """The user's registries.conf sending every reference of `hosts` (ghcr.io, quay.io, ...)
    to `registry`/<host>/... instead, so skopeo copies "public" images from 127.0.0.1 and
    never from the internet (registries.conf `prefix` and `location`)."""
    path = home / ".config/containers/registries.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[[registry]]\nlocation = "{registry}"\ninsecure = true\n\n' + "".join(
        f'[[registry]]\nprefix = "{host}"\nlocation = "{registry}/{host}"\ninsecure = true\n\n'
        for host in hosts))
    return path


def push(layout: Path, ref: str, target: str) -> None:
    """Copy image `ref` of an OCI layout to `docker://target` (every architecture)."""
    subprocess.run(["skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
                    f"oci:{layout}:{ref}", f"docker://{target}"], check=True,
                   capture_output=True)


@dataclass
class StandIns:
    """A local registry standing in for the public hosts of `images`, and a small image built
    for each (layers shared on purpose) that `publish` pushes there."""

    registry: Registry
    layout: Layout
    images: list[str]

    def publish(self, *images: str) -> None:
        """Push the stand-ins of `images` (of all, when none is named)."""
        for number, image in enumerate(self.images):
            if not images or image in images:
                push(self.layout.root, f"i{number}", f"{self.registry.host}/{image}")


@contextmanager
def stand_ins(folder: Path, home: Path, images: Sequence[str]) -> Iterator[StandIns]:
    """StandIns of `images` under `folder`; skopeo (reading `home`'s registries.conf) fetches
    from them instead of ghcr.io, quay.io, ..., so nothing leaves 127.0.0.1."""
    with running_registry(folder / "registry") as registry:
        standing_in_registries_conf(home, registry.host, sorted({i.split("/", 1)[0]
                                                                 for i in images}))
        layout = Layout(folder / "build")
        base = layer("base.bin", 50_000, seed=3)
        for number in range(len(images)):
            layout.image(f"i{number}", [base, layer(f"{number}.bin", 2_000, seed=number)])
        yield StandIns(registry, layout, list(images))
