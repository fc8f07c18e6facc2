"""`create_offline_kit`: the images saved now (or the kit is not written) and packed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kfops.airgap import MirrorResult, verify_offline_bundle
from kfops.config import load_platform
from kfops.operations import create_offline_kit, render_platform
from kfops.render import RenderOptions
from tests.airgap.test_offline_bundle import write_platform
from tests.helpers.oci import StandIns, stand_ins


@dataclass
class Recorder:
    """A KitProgress that writes down what it is told."""

    events: list[str] = field(default_factory=list)

    def saving_images(self, total: int) -> None:
        self.events.append(f"saving {total}")

    def image_saved(self, result: MirrorResult) -> None:
        self.events.append(f"{result.outcome} {result.source}")

    def images_saved(self) -> None:
        self.events.append("saved")

    def building_wheelhouse(self) -> None:
        self.events.append("wheelhouse")


@dataclass
class Connected:
    """The platform file, and its images standing in a local registry (not yet published)."""

    platform: Path
    public: StandIns


@pytest.fixture
def connected(tmp_path: Path) -> Iterator[Connected]:
    platform = tmp_path / "connected" / "platform.yaml"
    write_platform(platform)
    images = render_platform(load_platform(platform), RenderOptions(offline=True)).bundle.images
    with stand_ins(tmp_path, Path(os.environ["HOME"]), images) as public:
        yield Connected(platform, public)


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    """A folder holding a kfops wheel, as the kit requires (the kit copies it, never installs)."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    (folder / "kfops-0.0.0-py3-none-any.whl").write_bytes(b"wheel")
    return folder


def test_the_images_are_saved_now_and_packed(tmp_path: Path, connected: Connected,
                                             wheelhouse: Path) -> None:
    connected.public.publish()
    progress = Recorder()
    kit = create_offline_kit(tmp_path / "kit.tar", load_platform(connected.platform),
                             RenderOptions(offline=True), wheelhouse=wheelhouse,
                             progress=progress)
    assert kit.packed is not None and kit.packed.path == tmp_path / "kit.tar"
    assert progress.events == [f"saving {len(connected.public.images)}",
                               *(f"copied {image}" for image in connected.public.images), "saved"]
    assert [r.outcome for r in kit.saved] == ["copied"] * len(connected.public.images)
    assert verify_offline_bundle(kit.packed.path).problems == []


def test_an_image_that_cannot_be_saved_leaves_no_kit(tmp_path: Path, connected: Connected,
                                                     wheelhouse: Path) -> None:
    missing, *held = connected.public.images
    connected.public.publish(*held)
    progress = Recorder()
    kit = create_offline_kit(tmp_path / "kit.tar", load_platform(connected.platform),
                             RenderOptions(offline=True), wheelhouse=wheelhouse,
                             progress=progress)
    assert kit.packed is None and not (tmp_path / "kit.tar").exists()
    [failed] = [r for r in kit.saved if r.outcome == "failed"]
    assert failed.source == missing and failed.reason == "not found at the source"
    assert progress.events[0] == f"saving {len(connected.public.images)}"
    assert progress.events[-1] == "saved" and "wheelhouse" not in progress.events
