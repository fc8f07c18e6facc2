"""Component selection: release defaults, choices, what components need, refusals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kfops.catalog import SelectedComponent, catalog_for, known_versions, select_components
from kfops.errors import ComponentSelectionError
from tests.conftest import MANIFESTS


def names(selected: tuple[SelectedComponent, ...]) -> list[str]:
    return [s.name for s in selected]


@pytest.mark.parametrize("version", ["v1.10.2", "26.03"])
def test_release_default_set_matches_the_example(version: str) -> None:
    catalog = catalog_for(version, MANIFESTS / version)
    selected = select_components(catalog, {}, {})
    example = (MANIFESTS / version / "example" / "kustomization.yaml").read_text()
    active = [line.split("#")[0].strip()[len("- ../"):] for line in example.splitlines()
              if line.startswith("- ../")]
    built = [path for s in selected for path in s.paths]
    assert sorted(built) == sorted(active)
    assert "modelRegistry" not in names(selected)
    assert "knativeEventing" not in names(selected)


def test_every_catalog_path_exists_in_its_release() -> None:
    for version, folder in (("v1.10.2", "v1.10.2"), ("26.03", "26.03")):
        catalog = catalog_for(version, MANIFESTS / folder)
        for component in catalog.components:
            for path in (*component.paths, *(p for _, ps in component.variants for p in ps)):
                assert (MANIFESTS / folder / path / "kustomization.yaml").is_file(), path


def test_switching_off_what_kserve_needs_is_refused_with_the_reason() -> None:
    catalog = catalog_for("26.03", MANIFESTS / "26.03")
    with pytest.raises(ComponentSelectionError) as caught:
        select_components(catalog, {"knativeServing": False}, {})
    [(key, why)] = caught.value.problems
    assert key == "knativeServing"
    assert why.startswith("cannot be off while kserve is on: KServe's default Serverless mode")
    assert "Switch kserve off too, or leave knativeServing on" in why
    selected = select_components(catalog, {"knativeServing": False, "kserve": False}, {})
    assert {"knativeServing", "kserve"}.isdisjoint(names(selected))


def test_a_need_left_unset_is_pulled_in_with_its_reason() -> None:
    catalog = catalog_for("26.03", MANIFESTS / "26.03")
    patched = dataclasses.replace(catalog, components=tuple(
        dataclasses.replace(c, default=False) if c.name == "knativeServing" else c
        for c in catalog.components
    ))
    selected = {s.name: s.reason for s in select_components(patched, {}, {})}
    assert selected["knativeServing"] == "needed by kserve"


def test_variant_paths_replace_the_default_ones() -> None:
    catalog = catalog_for("26.03", MANIFESTS / "26.03")
    [pipelines] = [s for s in select_components(catalog, {}, {"pipelines": "kubernetes"})
                   if s.name == "pipelines"]
    assert pipelines.paths == (
        "applications/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user-k8s-native",)


def test_known_release_lines() -> None:
    assert known_versions() == ["v1.10.x", "26.03"]
    assert catalog_for("v1.10.0", Path("/nowhere")).known
    assert catalog_for("26.03.1", Path("/nowhere")).known
