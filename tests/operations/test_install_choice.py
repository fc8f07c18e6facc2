"""Which install `status` and `uninstall` are about: -f, --bundle, --name, or the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfops.cluster import Cluster
from kfops.errors import InputError
from kfops.operations import InstallChoice, install_status
from tests.conftest import PlatformWriter


def test_one_install_is_named_at_most_once(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^-f and --bundle name the install twice: use one"):
        InstallChoice(file=tmp_path / "platform.yaml", bundle=tmp_path)
    with pytest.raises(InputError, match=r"^-f and --bundle and --name name the install twice"):
        InstallChoice(tmp_path / "platform.yaml", tmp_path, "lab")


def test_the_default_is_the_platform_file_here_else_the_cluster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform_file: PlatformWriter) -> None:
    monkeypatch.chdir(tmp_path)
    assert InstallChoice().source() == "cluster"
    assert InstallChoice().named_applyset() is None
    platform_file(name="here")
    assert InstallChoice().source() == "file"
    target = InstallChoice().named_applyset()
    assert target is not None and target.platform == "here"
    assert InstallChoice(name="there").source() == "cluster"
    assert InstallChoice(bundle=tmp_path).source() == "bundle"


def test_a_bad_bundle_stops_the_status_before_the_cluster_is_asked(tmp_path: Path) -> None:
    def connect() -> Cluster:
        raise AssertionError("status connected before it read the bundle")

    (tmp_path / "bundle").mkdir()
    with pytest.raises(InputError, match="bundle"):
        install_status(InstallChoice(bundle=tmp_path / "bundle"), connect)
