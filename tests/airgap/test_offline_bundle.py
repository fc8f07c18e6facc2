"""`kfops bundle create|verify`: the kit renders on a machine with no network and no cache,
installs kfops with `pip install --no-index`, and a changed byte is caught."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kfops.airgap import build_wheelhouse
from kfops.cli import main
from kfops.config import load_platform
from kfops.operations import render_platform
from kfops.render import RenderOptions
from tests.conftest import MANIFESTS, REMOTE_CACHE, UPSTREAM
from tests.helpers.oci import stand_ins

METALLB = UPSTREAM / "prereqs/metallb-v0.16.1/metallb-native.yaml"


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kfops and its dependencies as wheels, built once (pip reuses its own cache)."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    build_wheelhouse(folder)
    return folder


#: A small platform (no Knative: its images are pinned by digest, which no test image can
#: have), so every image of its images.txt can stand in a local registry.
PLATFORM = (
    "apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: lab}\nspec:\n"
    "  target: local\n  release:\n    version: \"26.03\"\n"
    f"    source: {MANIFESTS / '26.03'}\n    remoteCache: {REMOTE_CACHE}\n"
    "  components: {pipelines: false, katib: false, kserve: false, knativeServing: false,\n"
    "    notebooks: false, tensorboards: false, volumes: false, trainer: false,\n"
    "    sparkOperator: false}\n"
    "  ingress: {serviceType: LoadBalancer}\n"
    f"  metallb:\n    source: {METALLB}\n    addresses: [192.168.1.240-192.168.1.250]\n"
    # The administrator's own files, relative to the platform file: packed into the kit too.
    "  patches:\n  - {target: {kind: Deployment, name: dex}, path: patches/dex.yaml}\n"
    "  extraManifests: [company/]\n")
COMPANY = {
    "patches/dex.yaml": "spec: {template: {spec: {nodeSelector: {pool: system}}}}\n",
    "company/policies/egress.yaml": (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: company-egress, namespace: kubeflow}\n"
        "spec: {podSelector: {}, policyTypes: [Egress]}\n"),
    "company/contacts.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: contacts, namespace: kubeflow}\n"
        "data: {oncall: ops@example.com}\n"),
}


def write_platform(path: Path) -> None:
    """PLATFORM at `path`, with the patch and extra manifest files it names beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PLATFORM)
    for name, text in COMPANY.items():
        (path.parent / name).parent.mkdir(parents=True, exist_ok=True)
        (path.parent / name).write_text(text)


@dataclass
class Connected:
    """The connected machine: the platform file, its images (standing in a local registry that
    skopeo reads instead of ghcr.io, quay.io, ...) and the folder they are saved to."""

    platform: Path
    images: list[str]
    saved: Path

    def save(self, *images: str) -> None:
        """`kfops images save` of `images`, or of the platform's images.txt when none given."""
        source = ["-f", str(self.platform)]
        if images:
            listing = self.saved.parent / "some-images.txt"
            listing.write_text("".join(f"{i}\n" for i in images))
            source = ["--images", str(listing)]
        assert main(["images", "save", str(self.saved), *source, "--offline", "-o", "json"]) == 0


@pytest.fixture
def connected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Connected]:
    platform = tmp_path / "connected" / "platform.yaml"
    write_platform(platform)
    images = render_platform(load_platform(platform), RenderOptions(offline=True)).bundle.images
    with stand_ins(tmp_path, Path(os.environ["HOME"]), images) as public:
        public.publish()
        yield Connected(platform, images, tmp_path / "saved")
    capsys.readouterr()


def test_kit_renders_offline_installs_kfops_and_catches_changes(
        tmp_path: Path, connected: Connected, wheelhouse: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    connected.save()
    capsys.readouterr()
    kit = tmp_path / "kit.tar"
    assert main(["bundle", "create", str(kit), "-f", str(connected.platform), "--offline",
                 "--images-from", str(connected.saved), "--wheelhouse", str(wheelhouse),
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
    assert "path: patches/0/dex.yaml" in text and "extraManifests: [extra-manifests/0]" in text
    assert (root / "extra-manifests/0/policies/egress.yaml").read_text() == \
        COMPANY["company/policies/egress.yaml"]
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
    assert sorted(i["source"] for i in saved) == sorted(connected.images)

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


def layer_of(saved: Path, image: str) -> str:
    """The digest of the last layer of a saved image (read from the layout, as skopeo wrote)."""
    entry = next(i for i in json.loads((saved / "images.json").read_text())["images"]
                 if i["source"] == image)
    manifest = json.loads((saved / "oci/blobs" / entry["digest"].replace(":", "/")).read_text())
    return str(manifest["layers"][-1]["digest"])


def test_create_names_what_the_saved_images_lack_and_writes_nothing(
        tmp_path: Path, connected: Connected, wheelhouse: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    missing, *held = connected.images
    connected.save(*held)  # saved before the platform gained an image
    kit = tmp_path / "out" / "kit.tar"
    create = ["bundle", "create", str(kit), "-f", str(connected.platform), "--offline",
              "--images-from", str(connected.saved), "--wheelhouse", str(wheelhouse)]
    capsys.readouterr()

    assert main(create) == 1
    err = capsys.readouterr().err
    assert f"lacks 1 of the {len(connected.images)} images the platform needs" in err
    assert f"{missing}: not saved (not in images.json)" in err
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []

    # A blob lost from the layout (a disk or a copy that went wrong) is named by digest ...
    connected.save()
    lost = layer_of(connected.saved, held[0])
    (connected.saved / "oci/blobs" / lost.replace(":", "/")).unlink()
    capsys.readouterr()
    assert main(create) == 1
    assert f"{held[0]}: blob {lost} is missing" in capsys.readouterr().err
    assert not kit.exists()

    # ... and saving again puts it back (an image is skipped only when held whole).
    connected.save()
    assert (connected.saved / "oci/blobs" / lost.replace(":", "/")).is_file()
    assert main([*create, "-o", "json"]) == 0 and kit.is_file()


def rewrite_kit(kit: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    """A copy of `kit` with each file passed through `change` (None drops it) and the
    checksums written anew, as a hand-made or older kit could be: consistent, not complete."""
    files: dict[str, bytes] = {}
    with tarfile.open(kit) as source:
        for member in source.getmembers():
            handle = source.extractfile(member) if member.isfile() else None
            if handle is not None:
                top, _, name = member.name.partition("/")
                changed = change(name, handle.read())
                if changed is not None:
                    files[name] = changed
    files.pop("checksums.sha256")
    files["checksums.sha256"] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    ).encode()
    with tarfile.open(target, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_verify_names_images_the_kit_lacks(tmp_path: Path, connected: Connected,
                                           wheelhouse: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    connected.save()
    kit = tmp_path / "kit.tar"
    assert main(["bundle", "create", str(kit), "-f", str(connected.platform), "--offline",
                 "--images-from", str(connected.saved), "--wheelhouse", str(wheelhouse),
                 "-o", "json"]) == 0
    first, second = connected.images[:2]
    lost = layer_of(connected.saved, second)

    def incomplete(name: str, data: bytes) -> bytes | None:
        if name == "images/images.json":
            listing = json.loads(data)
            listing["images"] = [i for i in listing["images"] if i["source"] != first]
            return json.dumps(listing).encode()
        return None if name == "images/oci/blobs/" + lost.replace(":", "/") else data

    partial = tmp_path / "partial.tar"
    rewrite_kit(kit, partial, incomplete)
    capsys.readouterr()

    assert main(["bundle", "verify", str(partial), "-o", "json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert problems == [f"image {first}: not saved (not in images.json)",
                        f"image {second}: blob {lost} is missing"]


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
