"""One real 26.03 install on the emulator, applied once per test process (tests/conftest.py
`local_install`); each test gets a copy of that cluster to break in its own way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kfops.cluster import Cluster
from kfops.config import load_platform
from kfops.health import DoctorReport, InstallFacts, Snapshot, chosen_rules, run_doctor
from kfops.operations import render_platform, rendered_facts, write_rendered
from kfops.render import RenderOptions
from tests.conftest import NO_BACKOFF, LocalInstall, emulator_settings, session_environment
from tests.emulator import ApiState, FaultPlan, RunningEmulator


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
def installed(local_install: LocalInstall, shared_cache: Path) -> Installed:
    """The default 26.03 install, its written bundle and the facts its platform file gives."""
    platform = local_install.folder / "platform.yaml"
    with session_environment(shared_cache):
        loaded = load_platform(platform)
        rendered = render_platform(loaded, RenderOptions(offline=True))
        write_rendered(rendered, local_install.folder / "bundle")
    return Installed(local_install.folder, platform, local_install.folder / "bundle",
                     local_install.state, rendered_facts(loaded, rendered))


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
    with RunningEmulator(emulator_settings(), FaultPlan(), start_from=installed.state) as running:
        kubeconfig = running.write_kubeconfig(tmp_path / "kubeconfig")
        with Cluster.connect(kubeconfig, retry=NO_BACKOFF) as cluster:
            yield Site(running, kubeconfig, cluster, installed.facts, installed.platform,
                       installed.bundle)
