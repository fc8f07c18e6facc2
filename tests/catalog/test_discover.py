"""A release kfops does not know is read from its own example/kustomization.yaml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kfops.catalog import catalog_for, select_components


def test_unknown_release_maps_recognisable_paths_and_keeps_the_rest(
    release_copy: Callable[[str], Path]
) -> None:
    root = release_copy("26.03")
    example = root / "example" / "kustomization.yaml"
    extra = root / "common" / "site-extras" / "base"
    extra.mkdir(parents=True)
    (extra / "kustomization.yaml").write_text("resources: []\n")
    example.write_text(example.read_text().replace(
        "- ../applications/katib/upstream/installs/katib-with-kubeflow\n",
        "- ../applications/katib/upstream/installs/katib-with-kubeflow\n"
        "- ../common/site-extras/base\n",
    ))
    catalog = catalog_for("26.10", root)
    assert not catalog.known
    assert catalog.unrecognised == ("common/site-extras/base",)
    by_name = {c.name: c for c in catalog.components}
    assert by_name["katib"].paths == ("applications/katib/upstream/installs/katib-with-kubeflow",)
    assert by_name["unrecognised"].kind == "core"
    # Known optional components the example leaves out stay available, switched off.
    assert by_name["modelRegistry"].default is False
    selected = {s.name for s in select_components(catalog, {"katib": False}, {})}
    assert "katib" not in selected and "unrecognised" in selected
    assert by_name["kserve"].requires == (("knativeServing", by_name["kserve"].requires[0][1]),)
