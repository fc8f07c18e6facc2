"""`import kfops` alone: the flow of the package docstring against the emulated cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

import kfops
from tests.conftest import FAST_WAITS, PlatformWriter


def test_the_front_door_installs_checks_and_removes_a_platform(
        platform_file: PlatformWriter, kubeconfig: Path) -> None:
    loaded = kfops.load_platform(platform_file())
    options = kfops.RenderOptions(offline=True)
    checked = kfops.validate_platform(loaded, options)
    assert checked.report.ok
    assert not (loaded.base_dir / ".kfops").exists()  # validate keeps nothing
    result = kfops.render_platform(loaded, options)
    assert len(result.bundle.objects) == checked.report.checked
    with kfops.Cluster.connect(kubeconfig) as cluster:
        assert kfops.plan_platform(loaded, cluster, options).entries
        applied = kfops.apply_platform(loaded, cluster, kfops.ApplyOptions(waits=FAST_WAITS),
                                       render_options=options)
        assert len(applied.summary.created) == len(result.bundle.objects)
        assert [e for e in kfops.plan_platform(loaded, cluster, options).entries
                if e.action != "unchanged"] == []
        statuses = kfops.platform_status(cluster, kfops.bundle_files(result.bundle))
        assert statuses and {s.state for s in statuses} == {"ready"}
        removed = kfops.uninstall_platform(cluster, kfops.platform_applyset(loaded),
                                           waits=FAST_WAITS)
        assert removed.deleted


def test_every_error_is_a_kfops_error(tmp_path: Path) -> None:
    (tmp_path / "platform.yaml").write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\n")
    with pytest.raises(kfops.KfopsError) as caught:
        kfops.load_platform(tmp_path / "platform.yaml")
    assert caught.value.exit_code == 2
