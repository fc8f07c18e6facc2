"""Shared fixtures: the real upstream manifests, an isolated kfops cache, platform files."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kfops.cluster import ApplyOptions, Cluster, RetryPolicy, WaitSettings
from kfops.config import load_platform
from kfops.operations import apply_platform
from kfops.render import RenderOptions
from tests.emulator import ApiState, FaultPlan, RunningEmulator, Settings
from tests.tiers import Guard, mark_tiers

ROOT = Path(__file__).resolve().parent.parent
#: The real upstream data (Kubeflow manifests, remote bases, CRDs, prerequisites).
UPSTREAM = Path(os.environ.get("KFOPS_TEST_UPSTREAM", ROOT.parent / "shared" / "upstream"))
MANIFESTS = UPSTREAM / "kubeflow-manifests"
REMOTE_CACHE = UPSTREAM / "remote-cache"
RELEASES = ("v1.10.2", "26.03")
#: Waits short enough for tests; the emulator's controllers act within 0.1 s.
FAST_WAITS = WaitSettings(timeout=30, interval=0.02)
#: Transient failures are retried at once (the backoff itself is tested on its own).
NO_BACKOFF = RetryPolicy(base=0, jitter=0)


GUARD = pytest.StashKey[Guard]()


def pytest_configure(config: pytest.Config) -> None:
    if not (MANIFESTS / "26.03" / "example" / "kustomization.yaml").is_file():
        raise pytest.UsageError(
            f"upstream data not found at {UPSTREAM}; set KFOPS_TEST_UPSTREAM to ../shared/upstream"
        )
    config.stash[GUARD] = Guard(Path(tempfile.mkdtemp(prefix="kfops-tiers-")))


def pytest_unconfigure(config: pytest.Config) -> None:
    guard = config.stash.get(GUARD, None)
    if guard is not None:
        shutil.rmtree(guard.kustomize.parent, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test gets the tiers it reaches (tests/tiers.py): `render`, `emulator`,
    `registry`; `unit` when it reaches none (-m unit is scripts/check --fast)."""
    mark_tiers(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Each test runs held to its tiers: no kustomize outside `render`, no IP sockets in
    `unit` (tests/tiers.py), from its first fixture to its last teardown."""
    with item.config.stash[GUARD].holding(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """A test that used what its tiers deny fails here, whatever it did with the refusal."""
    yield
    item.config.stash[GUARD].check(item)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One kfops cache for the session, so builds of the same inputs are reused across tests
    (KFOPS_TEST_CACHE: one for several test processes, as scripts/check runs two; kfops
    writes its cache atomically, as concurrent administrators need)."""
    shared = os.environ.get("KFOPS_TEST_CACHE")
    if shared:
        return Path(shared)
    return tmp_path_factory.mktemp("kfops-cache")


@pytest.fixture(autouse=True)
def isolated_environment(
    shared_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every test uses the session cache and never the user's own settings (KFOPS_KUSTOMIZE:
    the tier guard's, pytest_runtest_protocol)."""
    monkeypatch.setenv("KFOPS_CACHE_DIR", str(shared_cache))
    monkeypatch.delenv("KFOPS_GITHUB_URL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="session", autouse=True)
def upstream_allowed() -> Iterator[None]:
    """Platform files of the tests point at the shared upstream snapshot, outside their own
    folder: allowed as a pipeline allows a checkout it provides (also for module fixtures)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_ALLOWED_PATHS", str(UPSTREAM))
        yield


PlatformWriter = Callable[..., Path]


@pytest.fixture
def platform_file(tmp_path: Path) -> PlatformWriter:
    """Write a platform file for a release of the upstream snapshot; returns its path."""

    def write(release: str = "26.03", spec_extra: str = "", name: str = "lab",
              folder: Path | None = None) -> Path:
        where = folder or tmp_path
        where.mkdir(parents=True, exist_ok=True)
        path = where / "platform.yaml"
        path.write_text(platform_text(release, spec_extra, name))
        return path

    return write


def platform_text(release: str = "26.03", spec_extra: str = "", name: str = "lab") -> str:
    """A local platform file of a release of the upstream snapshot."""
    return ("apiVersion: kfops.io/v1alpha1\n"
            "kind: Platform\n"
            f"metadata:\n  name: {name}\n"
            "spec:\n"
            "  target: local\n"
            "  release:\n"
            f"    version: \"{release}\"\n"
            f"    source: {MANIFESTS / release}\n"
            f"    remoteCache: {REMOTE_CACHE}\n"
            + spec_extra)


@pytest.fixture
def release_copy(tmp_path: Path) -> Callable[[str], Path]:
    """A writable copy of an upstream release, for tests that plant changes."""

    def copy(release: str) -> Path:
        target = tmp_path / f"manifests-{release}"
        shutil.copytree(MANIFESTS / release, target)
        return target

    return copy


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point GitHub at a closed port, so an accidental fetch fails fast instead of hanging."""
    monkeypatch.setenv("KFOPS_GITHUB_URL", "http://127.0.0.1:9")
    yield


def emulator_settings() -> Settings:
    """Emulated controllers whose CRDs, workloads and Profiles' namespaces settle quickly."""
    return Settings(crd_delay=0.05, workload_delay=0.1, profile_controller=True,
                    profile_delay=0.1)


@contextlib.contextmanager
def session_environment(shared_cache: Path) -> Iterator[None]:
    """The settings every test runs with (`isolated_environment`), for a fixture that
    outlives one test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_ALLOWED_PATHS", str(UPSTREAM))
        patch.setenv("KFOPS_CACHE_DIR", str(shared_cache))
        patch.delenv("KFOPS_STATE_DIR", raising=False)
        yield


@dataclass(frozen=True)
class LocalInstall:
    """`platform_file()`'s platform (local, 26.03) applied once per test process: its
    folder (platform.yaml, the state directory .kfops) and the cluster it left."""

    folder: Path
    state: ApiState


@pytest.fixture(scope="session")
def local_install(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> LocalInstall:
    """`kfops apply` of the default platform on an emulator, once: tests that start from
    an installed platform take a copy (see `emulator`) instead of applying it again."""
    folder = tmp_path_factory.mktemp("local-install")
    platform = folder / "platform.yaml"
    platform.write_text(platform_text())
    with session_environment(shared_cache), \
            RunningEmulator(emulator_settings(), FaultPlan()) as running, \
            Cluster.connect(running.write_kubeconfig(folder / "kubeconfig"),
                            retry=NO_BACKOFF) as cluster:
        apply_platform(load_platform(platform), cluster, ApplyOptions(waits=FAST_WAITS),
                       render_options=RenderOptions(offline=True))
    return LocalInstall(folder, running.state)


@pytest.fixture
def emulator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningEmulator]:
    """A fresh emulated cluster (tests/emulator), or, for a test that also asks for
    `local_install`, a copy of that installed cluster with its state directory in the
    test's folder: the test's `platform_file()` is then installed already, as if applied."""
    start = None
    if "local_install" in request.fixturenames:
        install: LocalInstall = request.getfixturevalue("local_install")
        shutil.copytree(install.folder / ".kfops", tmp_path / ".kfops")
        start = install.state
    with RunningEmulator(emulator_settings(), FaultPlan(), start_from=start) as running:
        yield running


@pytest.fixture
def kubeconfig(emulator: RunningEmulator, tmp_path: Path) -> Path:
    """A kubeconfig whose current context is the emulator."""
    return emulator.write_kubeconfig(tmp_path / "kubeconfig")




@pytest.fixture
def cluster(kubeconfig: Path) -> Iterator[Cluster]:
    """A kfops client of the emulator."""
    with Cluster.connect(kubeconfig, retry=NO_BACKOFF) as client:
        yield client

