"""The image set of `kfops images`: from a bundle's lock or a list, with the air-gap settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kfops.airgap import ImageSet, read_image_list
from kfops.config import Airgap
from kfops.errors import InputError

REGISTRY = "registry.internal:5000"


def _pod(image: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"containers": [{"name": "c", "image": image}]}}


def test_a_lock_maps_rewritten_images_back_and_gives_the_settings() -> None:
    rewritten = f"{REGISTRY}/ghcr.io/kubeflow/x:1"
    lock = {"airgap": {"registry": REGISTRY, "keepSourceHost": True, "insecure": True},
            "imageSources": {rewritten: "ghcr.io/kubeflow/x:1"}}
    found = ImageSet.from_lock([_pod(rewritten)], ["ghcr.io/kubeflow/x:1"], lock)
    assert (found.keep_source_host, found.insecure) == (True, True)
    [entry] = found.inventory()
    assert (entry.source, entry.destination) == ("ghcr.io/kubeflow/x:1", rewritten)
    assert len(entry.places) == 1 and entry.places[0].startswith("Pod ns/p: ")


def test_a_lock_without_airgap_means_nothing_was_rewritten() -> None:
    found = ImageSet.from_lock([_pod("ghcr.io/kubeflow/x:1")], ["ghcr.io/kubeflow/x:1"],
                               {"platform": "lab"})
    assert (found.sources, found.keep_source_host, found.insecure) == ({}, False, False)
    assert [(e.source, e.destination) for e in found.inventory()] == [
        ("ghcr.io/kubeflow/x:1", None)]


def test_a_list_takes_the_settings_of_the_platform_file() -> None:
    airgap = Airgap.model_validate({"registry": REGISTRY, "keepSourceHost": True})
    listed = ImageSet.listed(["ghcr.io/kubeflow/x:1"], airgap)
    assert (listed.keep_source_host, listed.insecure, listed.objects) == (True, False, [])
    assert ImageSet.listed(["ghcr.io/kubeflow/x:1"], None) == ImageSet(["ghcr.io/kubeflow/x:1"])


def test_an_image_list_is_normalised_sorted_and_without_repeats(tmp_path: Path) -> None:
    listing = tmp_path / "images.txt"
    listing.write_text("# the platform's images\nbusybox:1.28\n\n"
                       "ghcr.io/kubeflow/x:1  # trailing comment\n"
                       "docker.io/library/busybox:1.28\n")
    assert read_image_list(listing) == ["docker.io/library/busybox:1.28", "ghcr.io/kubeflow/x:1"]


def test_an_unreadable_list_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read .*missing\.txt: No such file"):
        read_image_list(tmp_path / "missing.txt")
