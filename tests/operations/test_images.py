"""The images `kfops images` moves: listed, from a written bundle, or rendered; the GPU test's
image on an air-gapped platform."""

from __future__ import annotations

from pathlib import Path

from kfops.config import load_platform
from kfops.gpu import TEST_IMAGE
from kfops.operations import gpu_test_image, platform_airgap, platform_images, render_platform
from kfops.render import RenderOptions, write_bundle
from tests.conftest import PlatformWriter

REGISTRY = "registry.internal:5000"
AIRGAP = f"  airgap: {{registry: \"{REGISTRY}\", keepSourceHost: true, insecure: true}}\n"


def test_the_airgap_settings_come_from_the_file_if_there_is_one(
        platform_file: PlatformWriter, tmp_path: Path) -> None:
    assert platform_airgap(tmp_path / "absent.yaml") is None
    assert platform_airgap(platform_file()) is None
    airgap = platform_airgap(platform_file(spec_extra=AIRGAP))
    assert airgap is not None and (airgap.registry, airgap.keep_source_host) == (REGISTRY, True)


def test_a_list_needs_no_render_and_takes_the_file_settings(platform_file: PlatformWriter,
                                                            tmp_path: Path) -> None:
    listing = tmp_path / "mine.txt"
    listing.write_text("busybox:1.28\n")
    path = platform_file(spec_extra=AIRGAP)
    found = platform_images(path, images=listing)
    assert (found.images, found.objects, found.keep_source_host, found.insecure) == (
        ["docker.io/library/busybox:1.28"], [], True, True)
    alone = platform_images(tmp_path / "none.yaml", images=listing)
    assert (alone.keep_source_host, alone.insecure) == (False, False)


def test_a_bundle_gives_what_its_render_gave(platform_file: PlatformWriter,
                                             tmp_path: Path) -> None:
    path = platform_file(spec_extra=AIRGAP)
    rendered = platform_images(path, render_options=RenderOptions(offline=True))
    assert rendered.sources and rendered.keep_source_host and rendered.insecure
    write_bundle(render_platform(load_platform(path), RenderOptions(offline=True)).bundle,
                 tmp_path / "bundle")
    written = platform_images(tmp_path / "absent.yaml", bundle=tmp_path / "bundle")
    assert (written.images, written.sources, written.keep_source_host, written.insecure) == (
        rendered.images, rendered.sources, True, True)
    assert written.inventory() == rendered.inventory()


def test_the_gpu_test_pulls_from_the_private_registry(platform_file: PlatformWriter,
                                                       tmp_path: Path) -> None:
    assert TEST_IMAGE == "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04"
    assert gpu_test_image(load_platform(platform_file()).platform.spec) == TEST_IMAGE
    kept = load_platform(platform_file(spec_extra=AIRGAP)).platform.spec
    assert gpu_test_image(kept) == f"{REGISTRY}/nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04"
    dropped = load_platform(platform_file(spec_extra=f"  airgap: {{registry: \"{REGISTRY}\"}}\n",
                                          folder=tmp_path / "dropped")).platform.spec
    assert gpu_test_image(dropped) == f"{REGISTRY}/nvidia/cuda:12.4.1-base-ubuntu22.04"
