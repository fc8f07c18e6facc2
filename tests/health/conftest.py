"""One real 26.03 install on the emulator, applied once per test process; each test gets a
copy of that cluster to break in its own way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kfops.cluster import ApplyOptions, Cluster
from kfops.config import load_platform
from kfops.health import DoctorReport, InstallFacts, Snapshot, chosen_rules, run_doctor
from kfops.operations import apply_platform, render_platform, rendered_facts, write_rendered
from kfops.render import RenderOptions
from tests.conftest import FAST_WAITS, MANIFESTS, NO_BACKOFF, REMOTE_CACHE, UPSTREAM
from tests.emulator import ApiState, FaultPlan, RunningEmulator, Settings

PLATFORM = ("apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lab\n"
            "spec:\n  target: local\n  release:\n    version: \"26.03\"\n"
            f"    source: {MANIFESTS / '26.03'}\n    remoteCache: {REMOTE_CACHE}\n")


def settings() -> Settings:
    """The emulated controllers of tests/conftest.py's emulator."""
    return Settings(crd_delay=0.05, workload_delay=0.1, profile_controller=True,
                    profile_delay=0.1)


@dataclass(frozen=True)
class Installed:
    """The applied cluster (not served) and what doctor knows of the install."""

    folder: Path
    platform: Path
    bundle: Path
    """The bundle of that apply, as `kfops render --out` writes it."""
    state: ApiState
    facts: InstallFacts


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Installed:
    """`kfops apply` of the local 26.03 platform on an emulator, once."""
    folder = tmp_path_factory.mktemp("installed")
    platform = folder / "platform.yaml"
    platform.write_text(PLATFORM)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_ALLOWED_PATHS", str(UPSTREAM))
        patch.setenv("KFOPS_CACHE_DIR", str(shared_cache))
        patch.delenv("KFOPS_STATE_DIR", raising=False)
        loaded = load_platform(platform)
        rendered = render_platform(loaded, RenderOptions(offline=True))
        write_rendered(rendered, folder / "bundle")
        with RunningEmulator(settings(), FaultPlan()) as running, \
                Cluster.connect(running.write_kubeconfig(folder / "kubeconfig"),
                                retry=NO_BACKOFF) as cluster:
            apply_platform(loaded, cluster, ApplyOptions(waits=FAST_WAITS),
                           render_options=RenderOptions(offline=True))
        return Installed(folder, platform, folder / "bundle", running.state,
                         rendered_facts(loaded, rendered))


@dataclass
class Site:
    """A copy of the installed cluster, served, with a client and the install's facts."""

    emulator: RunningEmulator
    kubeconfig: Path
    cluster: Cluster
    facts: InstallFacts
    platform: Path
    bundle: Path

    def doctor(self, *only: str) -> DoctorReport:
        """Doctor's rules (`only` these) on a fresh snapshot of the cluster."""
        return run_doctor(Snapshot(self.cluster, self.facts.namespaces), self.facts,
                          chosen_rules(only))


@pytest.fixture
def site(installed: Installed, tmp_path: Path) -> Iterator[Site]:
    """The installed cluster, copied for this test alone."""
    with RunningEmulator(settings(), FaultPlan(), start_from=installed.state) as running:
        kubeconfig = running.write_kubeconfig(tmp_path / "kubeconfig")
        with Cluster.connect(kubeconfig, retry=NO_BACKOFF) as cluster:
            yield Site(running, kubeconfig, cluster, installed.facts, installed.platform,
                       installed.bundle)
