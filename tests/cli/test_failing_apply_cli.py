"""`kfops apply` on a cluster where a workload cannot start: exit 1 at once, naming it; `status`
then shows the same reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfops.cli import main
from tests.conftest import PlatformWriter
from tests.emulator import RunningEmulator


def test_apply_stops_on_an_image_that_cannot_be_pulled(
        platform_file: PlatformWriter, kubeconfig: Path, emulator: RunningEmulator,
        capsys: pytest.CaptureFixture[str]) -> None:
    emulator.state.settings.failing = {"kubeflow/ml-pipeline-ui": "ImagePullBackOff"}
    where = ("-f", str(platform_file()), "--kubeconfig", str(kubeconfig), "--offline")

    # A --timeout this long would stop the test first: the failure is reported without it.
    code, out, err = main(["apply", *where, "--timeout", "3600", "--failure-grace", "0"]), \
        *capsys.readouterr()

    assert code == 1 and "applied" not in out
    assert "Deployment kubeflow/ml-pipeline-ui: pod ml-pipeline-ui-5d8f7c9b4-emu01: " \
           "ImagePullBackOff (Back-off pulling image \"ghcr.io/kubeflow/kfp-frontend:" in err
    assert "last event: Failed Error: ImagePullBackOff" in err
    assert "kubectl describe pod -n kubeflow ml-pipeline-ui-5d8f7c9b4-emu01" in err
    assert "Traceback" not in err

    assert main(["status", *where]) == 1
    out = capsys.readouterr().out
    assert "pipelines" in out and "failed" in out
    assert "pod ml-pipeline-ui-5d8f7c9b4-emu01: ImagePullBackOff" in out
