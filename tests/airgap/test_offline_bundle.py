"""`kfops bundle create|verify`: the kit renders on a machine with no network and no cache,
installs kfops with `pip install --no-index`, and a changed byte is caught."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from kfops.airgap import build_wheelhouse
from kfops.cli import main
from tests.conftest import MANIFESTS, REMOTE_CACHE, UPSTREAM
from tests.helpers.oci import Layout, insecure_registries_conf, layer, push, running_registry

METALLB = UPSTREAM / "prereqs/metallb-v0.16.1/metallb-native.yaml"


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kfops and its dependencies as wheels, built once (pip reuses its own cache)."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    build_wheelhouse(folder)
    return folder


@pytest.fixture
def saved_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    with running_registry(tmp_path / "registry") as registry:
        insecure_registries_conf(Path(os.environ["HOME"]), [registry.host])
        layout = Layout(tmp_path / "build")
        base = layer("base.bin", 100_000, seed=3)
        layout.image("one", [base, layer("one.bin", 10_000, seed=4)])
        layout.image("two", [base, layer("two.bin", 10_000, seed=5)])
        listing = tmp_path / "images.txt"
        for ref in ("one", "two"):
            push(layout.root, ref, f"{registry.host}/kit/{ref}:1")
        listing.write_text(f"{registry.host}/kit/one:1\n{registry.host}/kit/two:1\n")
        assert main(["images", "save", str(tmp_path / "saved"), "--images", str(listing),
                     "-f", str(tmp_path / "none.yaml")]) == 0
    capsys.readouterr()
    return tmp_path / "saved"


def test_kit_renders_offline_installs_kfops_and_catches_changes(
        tmp_path: Path, saved_images: Path, wheelhouse: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    platform = tmp_path / "connected" / "platform.yaml"
    platform.parent.mkdir()
    platform.write_text(
        "apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: lab}\nspec:\n"
        "  target: local\n  release:\n    version: \"26.03\"\n"
        f"    source: {MANIFESTS / '26.03'}\n    remoteCache: {REMOTE_CACHE}\n"
        "  ingress: {serviceType: LoadBalancer}\n"
        f"  metallb:\n    source: {METALLB}\n    addresses: [192.168.1.240-192.168.1.250]\n")
    kit = tmp_path / "kit.tar"
    assert main(["bundle", "create", str(kit), "-f", str(platform), "--offline",
                 "--images-from", str(saved_images), "--wheelhouse", str(wheelhouse),
                 "-o", "json"]) == 0
    packed = json.loads(capsys.readouterr().out)
    assert packed["files"] > 1000 and kit.stat().st_mode & 0o777 == 0o600
    assert main(["bundle", "verify", str(kit), "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"files": packed["files"], "problems": []}

    # The offline machine: an empty kfops cache and GitHub out of reach.
    offline = tmp_path / "offline"
    with tarfile.open(kit) as tar:
        tar.extractall(offline, filter="data")
    root = offline / "kfops-offline-lab"
    text = (root / "platform.yaml").read_text()
    assert "source: release" in text and "remoteCache: remote-cache" in text
    assert "source: prereqs/metallb/metallb-native.yaml" in text
    subprocess.run(["sha256sum", "-c", "--quiet", "checksums.sha256"], cwd=root, check=True)
    monkeypatch.setenv("KFOPS_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("KFOPS_GITHUB_URL", "http://127.0.0.1:9")
    assert main(["render", "-f", str(root / "platform.yaml"), "--offline", "--out",
                 str(offline / "rerendered"), "-o", "json"]) == 0
    rendered = json.loads(capsys.readouterr().out)
    assert rendered["objects"] == len(_objects(root / "bundle"))
    assert (offline / "rerendered/images.txt").read_text() == \
        (root / "bundle/images.txt").read_text()
    saved = json.loads((root / "images/images.json").read_text())["images"]
    assert [i["source"].rsplit("/", 2)[-2:] for i in saved] == [["kit", "one:1"], ["kit", "two:1"]]

    # pip installs kfops from the wheelhouse alone.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--no-index", "--find-links",
                    str(root / "wheelhouse"), "kfops"], check=True, capture_output=True)
    help_text = subprocess.run([str(venv / "bin/kfops"), "--help"], check=True,
                               capture_output=True, text=True).stdout
    assert "images" in help_text and "bundle" in help_text

    # One changed file is named.
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(kit) as source, tarfile.open(tampered, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isfile() else None
            if member.name.endswith("bundle/images.txt") and data is not None:
                changed = data.read() + b"docker.io/library/evil:1\n"
                member.size = len(changed)
                target.addfile(member, io.BytesIO(changed))
            else:
                target.addfile(member, data)
    assert main(["bundle", "verify", str(tampered)]) == 1
    assert "changed: bundle/images.txt" in capsys.readouterr().out


def _objects(bundle: Path) -> list[str]:
    import yaml  # noqa: PLC0415

    lock = yaml.safe_load((bundle / "kfops.lock").read_text())
    return [name for path, count in lock["objects"].items() for name in [path] * count]


def test_verify_names_links_and_strangers(tmp_path: Path) -> None:
    from kfops.airgap import verify_offline_bundle  # noqa: PLC0415

    root = tmp_path / "kfops-offline-lab"
    (root / "bundle").mkdir(parents=True)
    (root / "bundle/kfops.lock").write_text("x\n")
    (root / "checksums.sha256").write_text(
        "5e2bf57d3f40c4b6df69daf1936cb766f832374b4fc0259a7cbff06e2f70f269  bundle/kfops.lock\n")
    (root / "bundle/link").symlink_to("/etc/passwd")
    kit = tmp_path / "kit.tar"
    with tarfile.open(kit, "w") as tar:
        tar.add(root, arcname="kfops-offline-lab")
        tar.add(root / "bundle/kfops.lock", arcname="elsewhere/kfops.lock")
    report = verify_offline_bundle(kit)
    assert "not a file or folder: kfops-offline-lab/bundle/link" in report.problems
    assert any(p.startswith("not one kfops-offline-* folder") for p in report.problems)
    assert "incomplete: no platform.yaml" in report.problems
