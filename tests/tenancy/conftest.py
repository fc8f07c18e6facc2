"""An emulated cluster that also plays Kubeflow's profile controller."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator import FaultPlan, RunningEmulator, Settings


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """Profiles get their namespace 0.1 s after they are written."""
    settings = Settings(crd_delay=0.05, workload_delay=0.1, profile_controller=True,
                        profile_delay=0.1)
    with RunningEmulator(settings, FaultPlan()) as running:
        yield running
