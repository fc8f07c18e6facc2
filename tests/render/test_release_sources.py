"""Release sources: a local checkout, an archive URL, the official archive by default."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kfops.cli import main
from kfops.config import load_platform
from kfops.errors import ConfigError, ReleaseSourceError, RemoteBaseError
from kfops.render import RenderOptions, render
from kfops.targets import write_starter
from tests.conftest import MANIFESTS, REMOTE_CACHE
from tests.helpers.github import mirror_remote_cache, release_archive, serve


def test_release_archive_url_is_downloaded_once_and_its_sha256_recorded(
    tmp_path: Path, platform_file: Callable[..., Path]
) -> None:
    served = tmp_path / "served"
    archive = release_archive(MANIFESTS / "v1.10.2", served / "releases/v1.10.2.tar.gz",
                              "manifests-1.10.2")
    path = platform_file("v1.10.2")
    with serve(served) as base:
        path.write_text(path.read_text().replace(str(MANIFESTS / "v1.10.2"),
                                                 f"{base}/releases/v1.10.2.tar.gz"))
        first = render(load_platform(path))
    again = render(load_platform(path), RenderOptions(offline=True))  # from the cache now
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert first.bundle.lock["release"]["archiveSha256"] == sha
    assert again.bundle.lock["release"]["sourceDigest"] == f"sha256:{sha}"
    assert len(first.bundle.objects) == len(again.bundle.objects) > 600


def test_missing_archive_offline_is_a_clear_error(platform_file: Callable[..., Path]) -> None:
    path = platform_file("26.03")
    path.write_text(path.read_text().replace(str(MANIFESTS / "26.03"),
                                             "https://example.invalid/manifests.tar.gz"))
    with pytest.raises(ReleaseSourceError) as caught:
        render(load_platform(path), RenderOptions(offline=True))
    assert "release archive https://example.invalid/manifests.tar.gz is not in the cache" in str(
        caught.value)


def test_a_folder_that_is_not_a_release_is_refused(
    tmp_path: Path, platform_file: Callable[..., Path]
) -> None:
    path = platform_file("26.03")
    (tmp_path / "empty").mkdir()
    path.write_text(path.read_text().replace(str(MANIFESTS / "26.03"), str(tmp_path / "empty")))
    with pytest.raises(ConfigError, match=r"no example/kustomization\.yaml") as caught:
        render(load_platform(path))
    assert [p.path for p in caught.value.problems] == ["spec.release.source"]


def test_missing_remote_base_offline_fails_before_building(
    tmp_path: Path, platform_file: Callable[..., Path]
) -> None:
    path = platform_file("26.03")
    path.write_text(path.read_text().replace(str(REMOTE_CACHE), str(tmp_path / "empty-cache")))
    with pytest.raises(RemoteBaseError) as caught:
        render(load_platform(path), RenderOptions(offline=True))
    assert "is not in the cache (looked for" in str(caught.value)
    # Trainer is the only default component that reaches a missing base besides pipelines:
    # switching both off renders without them.
    path.write_text(path.read_text() + "  components: {trainer: false, pipelines: false}\n")
    assert render(load_platform(path), RenderOptions(offline=True)).bundle.objects


@pytest.fixture(scope="module")
def fake_github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """github.com on 127.0.0.1: the 26.03 archive and every remote base 26.03 uses."""
    served = tmp_path_factory.mktemp("github")
    release_archive(MANIFESTS / "26.03",
                    served / "kubeflow/manifests/archive/refs/tags/26.03.tar.gz", "manifests-26.03")
    mirror_remote_cache(REMOTE_CACHE, served)
    with serve(served) as base:
        yield base


@pytest.fixture(scope="module")
def github_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kfops cache that starts empty: everything in it came from the fake GitHub."""
    return tmp_path_factory.mktemp("cache-from-github")


def test_default_source_is_the_official_archive_with_bases_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_github: str, github_cache: Path
) -> None:
    monkeypatch.setenv("KFOPS_CACHE_DIR", str(github_cache))
    monkeypatch.setenv("KFOPS_GITHUB_URL", fake_github)
    path = tmp_path / "platform.yaml"
    path.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n  target: local\n")
    result = render(load_platform(path))
    lock = result.bundle.lock["release"]
    assert lock["source"] == "https://github.com/kubeflow/manifests/archive/refs/tags/26.03.tar.gz"
    assert {r["url"] for r in lock["remoteBases"]} >= {
        "https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0",
        "https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml",
    }
    assert (github_cache / "remote/github.com/argoproj/argo-workflows/v3.7.3/manifests").is_dir()
    assert len(result.bundle.objects) == 672


def test_the_local_starter_renders_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_github: str, github_cache: Path
) -> None:
    monkeypatch.setenv("KFOPS_CACHE_DIR", str(github_cache))
    monkeypatch.setenv("KFOPS_GITHUB_URL", fake_github)
    path = tmp_path / "platform.yaml"
    write_starter("local", path)
    assert main(["render", "-f", str(path), "-o", "json"]) == 0
    lock = (tmp_path / "bundle" / "kfops.lock").read_text()
    assert "platform: lab" in lock and "version: '26.03'" in lock
