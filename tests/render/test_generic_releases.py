"""Releases kfops has no catalog entry for, and sources that are not the release named."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from kfops.catalog import same_release
from kfops.cli import main
from kfops.config import load_platform
from kfops.errors import ConfigError
from kfops.operations import render_platform
from kfops.render import RenderOptions
from tests.conftest import MANIFESTS, REMOTE_CACHE
from tests.helpers.presets import Objects


def _platform(folder: Path, version: str, source: Path) -> Path:
    path = folder / "platform.yaml"
    path.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n  target: local\n"
                    f"  release:\n    version: \"{version}\"\n    source: {source}\n"
                    f"    remoteCache: {REMOTE_CACHE}\n")
    return path


def test_a_release_between_the_catalogued_ones_renders_from_its_example(
        tmp_path: Path, release_copy: Callable[[str], Path]) -> None:
    """v1.11-like: 26.03's components (Trainer v2, SeaweedFS) with v1.10's example profile."""
    root = release_copy("26.03")
    user_namespace = root / "common" / "user-namespace" / "base"
    shutil.rmtree(user_namespace)
    shutil.copytree(MANIFESTS / "v1.10.2" / "common" / "user-namespace" / "base", user_namespace)
    # An upstream object without a namespace, as some releases ship them.
    (user_namespace / "notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release-notes\ndata:\n  a: b\n")
    kustomization = user_namespace / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace(
        "- profile-instance.yaml\n", "- profile-instance.yaml\n- notes.yaml\n"))

    result = render_platform(load_platform(_platform(tmp_path, "v1.11.1", root)),
                             RenderOptions(offline=True))

    objects = Objects(result)
    profile = objects.get("Profile", "kubeflow-user-example-com")
    assert profile["spec"]["owner"]["name"] == "user@example.com"
    assert not any(o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith(
        "default-install-config") for o in objects.all)
    assert objects.get("ConfigMap", "release-notes", "default")["data"] == {"a": "b"}
    assert any(w.startswith("release v1.11.1 is not in kfops's catalog") for w in
               result.bundle.warnings)
    assert ("ConfigMap default/release-notes: common/user-namespace/base gives it no namespace; "
            "placed in default, as kubectl apply would") in result.bundle.warnings
    assert objects.has("Deployment", "kubeflow-trainer-controller-manager", "kubeflow-system")
    assert objects.has("Service", "seaweedfs", "kubeflow")
    assert result.bundle.lock["release"]["inCatalog"] is False


@pytest.mark.parametrize(("version", "source", "expected"), [
    ("26.03", "v1.10.2", ("applications/pipeline/overlays", "v1.10.x")),
    ("v1.10.2", "26.03", ("common/cert-manager/kubeflow-issuer/base", "26.03")),
])
def test_a_version_the_checkout_is_not_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str, source: str,
        expected: tuple[str, str]) -> None:
    has_no, looks_like = expected
    path = _platform(tmp_path, version, MANIFESTS / source)

    code = main(["render", "-f", str(path), "--offline"])

    err = capsys.readouterr().err
    assert code == 2
    assert f"spec.release.version: {version} does not match the release at " \
           f"{MANIFESTS / source}" in " ".join(err.split())
    assert has_no in err and f"its folders are those of {looks_like}" in err
    assert "kustomize" not in err and "cache" not in err
    assert not (tmp_path / "bundle").exists()


def test_a_tagged_checkout_of_another_release_is_bad_input(
        tmp_path: Path, release_copy: Callable[[str], Path]) -> None:
    root = release_copy("v1.10.2")
    for command in (["init", "-q"], ["add", "-A"],
                    ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "r"],
                    ["tag", "v1.10.1"]):
        subprocess.run(["git", "-C", str(root), *command], check=True)

    with pytest.raises(ConfigError) as caught:
        render_platform(load_platform(_platform(tmp_path, "v1.10.2", root)),
                        RenderOptions(offline=True))

    [problem] = caught.value.problems
    assert problem.path == "spec.release.version"
    assert "that checkout is at tag v1.10.1" in problem.message


def test_release_tags_of_a_version() -> None:
    assert same_release("v1.10.2", "v1.10.2") and same_release("26.03", "v26.03")
    assert same_release("v1.10.x", "v1.10.1")
    assert not same_release("v1.10.2", "v1.10.1") and not same_release("26.03", "26.03.1")
