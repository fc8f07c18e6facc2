"""Mirror, save and load for real: skopeo between Debian docker-registry servers on 127.0.0.1,
with small OCI images the tests build (a shared base layer, one multi-arch index)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kfops.airgap import Skopeo, load_images, mirror_images, save_images
from kfops.cli import main
from tests.helpers.oci import (
    Layout,
    Registry,
    insecure_registries_conf,
    layer,
    push,
    running_registry,
)

BASE = layer("base.bin", 300_000, seed=1)


@dataclass
class World:
    """Two registries, the test images in the first, and what they are."""

    source: Registry
    target: Registry
    images: list[str]
    digests: dict[str, str]
    sizes: int
    """Sum of the images' blob sizes, counting a shared blob once per image."""


def skopeo_digest(reference: str) -> str:
    return str(Skopeo().digest(f"docker://{reference}"))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_registry(tmp_path / "source") as source, \
            running_registry(tmp_path / "target") as target:
        insecure_registries_conf(Path(os.environ["HOME"]), [source.host, target.host])
        layout = Layout(tmp_path / "build")
        names = []
        for index in range(4):  # four images on one base layer
            layout.image(f"app{index}", [BASE, layer(f"app{index}.bin", 40_000, seed=10 + index)])
            names.append((f"app{index}", f"team/app{index}:1.{index}"))
        layout.multi_arch("multi", {"amd64": [BASE, layer("m.bin", 20_000, seed=20)],
                                    "arm64": [layer("arm.bin", 20_000, seed=21)]})
        names.append(("multi", "tools/multi:2.0"))
        for ref, name in names:
            push(layout.root, ref, f"{source.host}/{name}")
        images = [f"{source.host}/{name}" for _, name in names]
        digests = {image: skopeo_digest(image) for image in images}
        sizes = 5 * len(BASE) + 4 * 40_000 + 2 * 20_000  # about; measured below exactly
        yield World(source, target, images, digests, sizes)


def moved(world: World, image: str) -> str:
    return image.replace(world.source.host, world.target.host, 1)


def test_mirror_copies_every_architecture_with_digests_then_skips(world: World) -> None:
    skopeo = Skopeo(insecure_destination=True)
    results = mirror_images(world.images, world.target.host, skopeo, parallel=3)
    assert [r.outcome for r in results] == ["copied"] * 5, [r.reason for r in results]
    for image in world.images:
        assert skopeo_digest(moved(world, image)) == world.digests[image]
    # The multi-arch index arrived whole: both architectures, by their own digests.
    index = json.loads(subprocess.run(
        ["skopeo", "inspect", "--raw", f"docker://{moved(world, world.images[-1])}"],
        capture_output=True, check=True).stdout)
    assert {m["platform"]["architecture"] for m in index["manifests"]} == {"amd64", "arm64"}
    # The shared base layer is stored once in the target.
    assert world.target.blob_bytes() == world.source.blob_bytes()
    again = mirror_images(world.images, world.target.host, skopeo)
    assert [r.outcome for r in again] == ["skipped"] * 5


def test_tls_is_skipped_only_for_an_insecure_destination(world: World) -> None:
    # Only the source is known to the containers configuration as plain HTTP now.
    insecure_registries_conf(Path(os.environ["HOME"]), [world.source.host])
    [result] = mirror_images(world.images[:1], world.target.host, Skopeo(), parallel=1)
    assert result.outcome == "failed" and "HTTPS" in result.reason, result
    [result] = mirror_images(world.images[:1], world.target.host,
                             Skopeo(insecure_destination=True))
    assert result.outcome == "copied"


def test_interrupted_mirror_resumes(world: World, tmp_path: Path) -> None:
    listing = tmp_path / "images.txt"
    listing.write_text("".join(f"{i}\n" for i in world.images))
    platform = tmp_path / "platform.yaml"
    platform.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n  target: local\n"
                        f"  airgap: {{registry: \"{world.target.host}\", insecure: true}}\n")
    args = ["images", "mirror", "--to", world.target.host, "-f", str(platform), "--images",
            str(listing), "--parallel", "1", "-o", "json"]
    process = subprocess.Popen([sys.executable, "-m", "kfops", *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(world.target.catalog()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    done = len(world.target.catalog())
    # Stopped part way (Ctrl-C: exit 130), unless it was quicker than the signal.
    assert (2 <= done < 5 and process.returncode == 130) or process.returncode == 0
    assert main(args) == 0
    assert all(skopeo_digest(moved(world, i)) == world.digests[i] for i in world.images)


def test_mirror_cli_reports_copied_skipped_failed(world: World, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    listing = tmp_path / "images.txt"
    missing = f"{world.source.host}/team/missing:0"
    listing.write_text("".join(f"{i}\n" for i in [*world.images[:2], missing]))
    platform = tmp_path / "platform.yaml"
    platform.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n  target: local\n"
                        f"  airgap: {{registry: \"{world.target.host}\", insecure: true}}\n")
    args = ["images", "mirror", "--to", world.target.host, "-f", str(platform),
            "--images", str(listing)]
    mirror_images(world.images[:1], world.target.host, Skopeo(insecure_destination=True))
    assert main([*args, "-o", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["copied"], report["skipped"], report["failed"]) == (1, 1, 1)
    [failed] = [r for r in report["images"] if r["outcome"] == "failed"]
    assert failed["source"] == missing and failed["reason"] == "not found at the source"
    assert main(args) == 1
    assert "0 copied, 2 skipped, 1 failed" in capsys.readouterr().out


def test_save_stores_shared_layers_once_and_load_pushes_them(world: World,
                                                             tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    results = save_images(world.images, folder, Skopeo())
    assert [r.outcome for r in results] == ["copied"] * 5
    blobs = folder / "oci/blobs/sha256"
    base = [p for p in blobs.iterdir() if p.stat().st_size == len(BASE)]
    assert len(base) == 1  # one base layer on disk for five images
    stored = sum(p.stat().st_size for p in blobs.iterdir())
    assert stored < world.sizes
    assert [r.outcome for r in save_images(world.images, folder, Skopeo())] == ["skipped"] * 5
    loaded = load_images(folder, world.target.host, Skopeo(insecure_destination=True))
    assert sorted(r.outcome for r in loaded) == ["copied"] * 5
    for image in world.images:
        assert skopeo_digest(moved(world, image)) == world.digests[image]
    again = load_images(folder, world.target.host, Skopeo(insecure_destination=True))
    assert [r.outcome for r in again] == ["skipped"] * 5


def test_credentials_from_a_creds_file(world: World, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with running_registry(tmp_path / "private", users={"mirror": "s3cret"}) as private:
        insecure_registries_conf(Path(os.environ["HOME"]),
                                 [world.source.host, world.target.host, private.host])
        [refused] = mirror_images(world.images[:1], private.host,
                                  Skopeo(insecure_destination=True))
        assert refused.outcome == "failed" and "unauthorized" in refused.reason.lower()
        creds = tmp_path / "auth.json"
        token = base64.b64encode(b"mirror:s3cret").decode()
        creds.write_text(json.dumps({"auths": {private.host: {"auth": token}}}))
        listing = tmp_path / "images.txt"
        listing.write_text(world.images[0] + "\n")
        platform = tmp_path / "platform.yaml"
        platform.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n"
                            "  target: local\n"
                            f"  airgap: {{registry: \"{private.host}\", insecure: true}}\n")
        assert main(["images", "mirror", "--to", private.host, "-f", str(platform),
                     "--images", str(listing), "--creds-file", str(creds), "-o", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["copied"] == 1


def test_bad_inputs_are_named_without_a_traceback(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    listing = tmp_path / "images.txt"
    listing.write_text("ghcr.io/kubeflow/x:1\n")
    assert main(["images", "mirror", "--to", "registry.internal:5000", "--images",
                 str(listing), "--creds-file", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err
    broken = tmp_path / "saved"
    broken.mkdir()
    (broken / "images.json").write_text('{"images": [{"source": "x"}]}')
    assert main(["images", "load", str(broken), "--to", "registry.internal:5000"]) == 2
    assert "not written by kfops images save" in capsys.readouterr().err
