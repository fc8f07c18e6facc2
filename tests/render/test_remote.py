"""Remote kustomize bases: parsed, found in the cache, fetched (git and HTTP), or named when
missing."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from kfops.errors import RemoteBaseError
from kfops.render import RemoteRef, RemoteResolver, parse_remote
from tests.conftest import REMOTE_CACHE
from tests.helpers.github import git_repository, serve


@pytest.mark.parametrize(("text", "expected"), [
    ("https://github.com/argoproj/argo-workflows/manifests/base/crds/minimal?ref=v3.7.3",
     ("github.com", "argoproj/argo-workflows", "v3.7.3", "manifests/base/crds/minimal", True)),
    ("https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0",
     ("github.com", "kubernetes-sigs/lws", "v0.7.0", "config/default", True)),
    ("github.com/org/repo.git/deploy/base?version=1.2.3",
     ("github.com", "org/repo", "1.2.3", "deploy/base", True)),
    ("https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml",
     ("github.com", "kubernetes-sigs/jobset", "v0.10.1", "manifests.yaml", False)),
])
def test_remote_references_are_parsed(text: str, expected: tuple[object, ...]) -> None:
    ref = parse_remote(text)
    assert ref is not None
    assert (ref.host, ref.repo, ref.ref, ref.path, ref.is_git) == expected


@pytest.mark.parametrize("local", ["../base", "deployment.yaml", "/abs/path"])
def test_local_paths_are_not_remote(local: str) -> None:
    assert parse_remote(local) is None


def test_cached_bases_resolve_to_the_upstream_layout() -> None:
    resolver = RemoteResolver(REMOTE_CACHE, offline=True)
    lws = parse_remote("https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0")
    jobset = parse_remote(
        "https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml")
    assert lws is not None and jobset is not None
    lws_cached = REMOTE_CACHE / "github.com/kubernetes-sigs/lws/v0.7.0/config/default"
    assert resolver.resolve(lws) == lws_cached
    assert resolver.resolve(jobset).is_file()


def test_missing_base_offline_names_the_reference_and_the_cache_path(tmp_path: Path) -> None:
    ref = parse_remote("https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0")
    assert isinstance(ref, RemoteRef)
    with pytest.raises(RemoteBaseError) as caught:
        RemoteResolver(tmp_path, offline=True).resolve(ref)
    assert str(caught.value) == (
        "remote base https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0 is not "
        f"in the cache (looked for {tmp_path}/github.com/kubernetes-sigs/lws/v0.7.0/config/default)"
        " and --offline forbids fetching it")


def test_missing_bases_are_fetched_through_the_github_mapping(tmp_path: Path) -> None:
    served = tmp_path / "served"
    git_repository(REMOTE_CACHE / "github.com/kubernetes-sigs/lws/v0.7.0", served,
                   "kubernetes-sigs/lws", "v0.7.0")
    asset = "kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml"
    (served / asset).parent.mkdir(parents=True)
    (served / asset).write_bytes((REMOTE_CACHE / "github.com" / asset).read_bytes())
    cache = tmp_path / "cache"
    with serve(served) as base:
        resolver = RemoteResolver(cache, offline=False, github_url=base)
        lws = resolver.resolve(parse_remote(  # type: ignore[arg-type]
            "https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0"))
        jobset = resolver.resolve(parse_remote(  # type: ignore[arg-type]
            f"https://github.com/{asset}"))
    original = REMOTE_CACHE / "github.com/kubernetes-sigs/lws/v0.7.0"
    fetched = cache / "github.com/kubernetes-sigs/lws/v0.7.0"
    assert lws == fetched / "config/default"
    assert not filecmp.dircmp(original, fetched).diff_files
    assert not (fetched / ".git").exists()
    assert jobset.read_bytes() == (REMOTE_CACHE / "github.com" / asset).read_bytes()


def test_a_fetch_that_fails_says_what_and_where(tmp_path: Path) -> None:
    ref = parse_remote("https://github.com/no/such-repo/base?ref=v1")
    with serve(tmp_path) as base, pytest.raises(RemoteBaseError) as caught:
        resolver = RemoteResolver(tmp_path / "cache", offline=False, github_url=base)
        resolver.resolve(ref)  # type: ignore[arg-type]
    assert str(caught.value).startswith(
        "cannot fetch https://github.com/no/such-repo/base?ref=v1 "
        f"(git fetch {base}/no/such-repo v1)")
