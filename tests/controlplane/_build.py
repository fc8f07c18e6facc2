"""Build the control plane from the Go module proxy into the version-keyed cache."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.controlplane._versions import (
    ETCD,
    K8S_MODULE,
    KUBERNETES,
    KWOK,
    KWOK_MODULE,
    KWOK_STAGES,
    Binaries,
    binaries,
    cache_root,
)


class BuildError(Exception):
    """The control plane could not be built; the message says what was missing."""


@dataclass(frozen=True)
class Built:
    """What a build produced, and whether it had anything to do."""

    binaries: Binaries
    built: bool
    seconds: float


def go_version() -> str:
    """The Go toolchain's version (`go env GOVERSION`), or a BuildError saying Go is missing."""
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "the Go toolchain (`go`) is not on PATH: install Go 1.25 or newer to build "
            f"Kubernetes {KUBERNETES}, etcd {ETCD} and kwok {KWOK}")
    done = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"`go env GOVERSION` failed: {done.stderr.strip()}")
    return done.stdout.strip()


def build(*, log: Path | None = None) -> Built:
    """Build (or reuse) kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok."""
    started = time.monotonic()
    target = binaries(go_version())
    if target.complete():
        return Built(target, built=False, seconds=time.monotonic() - started)
    cache_root().mkdir(parents=True, exist_ok=True)
    with _build_lock():
        if target.complete():  # another process built it while this one waited
            return Built(target, built=False, seconds=time.monotonic() - started)
        _build_into(target.folder, log)
    return Built(target, built=True, seconds=time.monotonic() - started)


@contextmanager
def _build_lock() -> Iterator[None]:
    with (cache_root() / ".build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_into(folder: Path, log: Path | None) -> None:
    """Build everything in a scratch folder and move it in whole, so no half build is ever seen."""
    scratch = Path(tempfile.mkdtemp(prefix=".partial-", dir=cache_root()))
    try:
        for module in (K8S_MODULE, KWOK_MODULE):
            _download(module, log)
        _go(K8S_MODULE, ["build", "-trimpath", "-ldflags", _version_flags(), "-o",
                         str(scratch) + "/", "k8s.io/kubernetes/cmd/kube-apiserver",
                         "k8s.io/kubernetes/cmd/kube-controller-manager",
                         "k8s.io/kubernetes/cmd/kube-scheduler"], log)
        _go(K8S_MODULE, ["build", "-trimpath", "-ldflags", "-s -w", "-o",
                         str(scratch / "etcd"), "./etcd"], log)
        _go(KWOK_MODULE, ["build", "-trimpath", "-ldflags", "-s -w", "-o",
                          str(scratch / "kwok"), "sigs.k8s.io/kwok/cmd/kwok"], log)
        _write_kwok_stages(scratch / "kwok-stages.yaml")
        shutil.rmtree(folder, ignore_errors=True)
        scratch.rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _version_flags() -> str:
    """What `kubectl version` and GET /version report: the release, as a release build says."""
    major, minor = KUBERNETES.lstrip("v").split(".")[:2]
    package = "k8s.io/component-base/version"
    return " ".join([
        "-s", "-w",
        f"-X {package}.gitVersion={KUBERNETES}",
        f"-X {package}.gitMajor={major}",
        f"-X {package}.gitMinor={minor}",
        f"-X {package}.gitTreeState=clean",
        f"-X {package}.buildDate=1970-01-01T00:00:00Z",
    ])


def _download(module: Path, log: Path | None) -> None:
    """Fetch every module the build needs; a failure names the module and version refused."""
    _go(module, ["mod", "download"], log)


def _go(module: Path, args: list[str], log: Path | None) -> None:
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
    done = subprocess.run(["go", *args], cwd=module, env=env, capture_output=True, text=True,
                          check=False)
    if log is not None:
        with log.open("a") as out:
            out.write(f"$ (cd {module}) go {' '.join(args)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        raise BuildError(_explain(module, args, done.stderr))


_MODULE_AT = re.compile(r"(?P<module>[\w./~-]+)@(?P<version>v[\w.+-]+)")


def _explain(module: Path, args: list[str], stderr: str) -> str:
    """Say which module and version could not be had, when go says so; else go's own words."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    proxy = os.environ.get("GOPROXY") or _go_env("GOPROXY")
    for line in lines:
        found = _MODULE_AT.search(line)
        if found and any(word in line for word in ("reading", "download", "verifying", "lookup",
                                                    "not found", "dial", "proxy", "410", "404")):
            return (f"the Go module proxy ({proxy}) did not give {found['module']} "
                    f"{found['version']}, needed by {module.name}: {line.strip()}")
    tail = "\n".join(lines[-15:])
    return f"`go {' '.join(args[:2])}` failed in {module}:\n{tail}"


def _go_env(name: str) -> str:
    done = subprocess.run(["go", "env", name], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unset"


def _write_kwok_stages(path: Path) -> None:
    """kwok's own stages from its module source, in one config file kwok reads with --config."""
    root = Path(_go_env("GOMODCACHE")) / f"sigs.k8s.io/kwok@{KWOK}"
    documents = []
    for relative in KWOK_STAGES:
        source = root / relative
        if not source.is_file():
            raise BuildError(f"kwok {KWOK} has no {relative} in the module cache ({root})")
        documents.append(source.read_text().strip())
    path.write_text("\n---\n".join(documents) + "\n")
