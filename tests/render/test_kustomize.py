"""Finding kustomize: the order of candidates and the version check."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfops.errors import KustomizeError
from kfops.render._kustomize import find_kustomize


def fake_binary(folder: Path, name: str, output: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\n")
    path.chmod(0o755)
    return path


def test_kustomize_4_is_refused_with_a_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = fake_binary(tmp_path, "kustomize", "{Version:kustomize/v4.5.7 GitCommit:abc}")
    monkeypatch.setenv("KFOPS_KUSTOMIZE", str(old))
    with pytest.raises(KustomizeError) as caught:
        find_kustomize()
    assert str(caught.value) == (
        f"{old} has kustomize v4.5.7; kfops needs kustomize v5 or newer (install kustomize 5, "
        "or unset KFOPS_KUSTOMIZE to use the bundled kubectl)")


def test_kubectl_reports_its_embedded_kustomize(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubectl = fake_binary(
        tmp_path, "kubectl",
        '{"clientVersion": {"gitVersion": "v1.33.0"}, "kustomizeVersion": "v5.6.0"}')
    monkeypatch.setenv("KFOPS_KUSTOMIZE", str(kubectl))
    found = find_kustomize()
    assert found.argv == (str(kubectl), "kustomize")
    assert found.version == "v5.6.0"


def test_a_missing_binary_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFOPS_KUSTOMIZE", "/no/such/kustomize")
    with pytest.raises(KustomizeError, match="KFOPS_KUSTOMIZE=/no/such/kustomize is not an"):
        find_kustomize()


def test_the_bundled_kubectl_is_found_without_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    found = find_kustomize()
    assert Path(found.argv[0]).name == "kubectl"
    assert found.version.startswith("v5.")
