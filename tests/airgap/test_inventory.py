"""Every image of the real 26.03 and v1.10.2 renders found, rewritten, and nothing public left."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kfops.airgap import image_inventory
from kfops.config import load_platform
from kfops.errors import RenderError
from kfops.operations import render_platform
from kfops.render import (
    EditableBundle,
    Phase,
    RenderOptions,
    RenderResult,
    find_image_uses,
    image_list,
    public_references,
)
from tests.conftest import RELEASES, PlatformWriter

REGISTRY = "registry.internal:5000"
#: Images that appear nowhere in a pod template: each names where it hides.
HIDDEN = {
    "26.03": {
        "gcr.io/istio-release/proxyv2:1.29.0": "ConfigMap istio-system/istio-sidecar-injector",
        "gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:"
        "40957d3ced3b185b7a78bbd771be69b0a13137dcbee5ff7f82ae738b56037d9c":
            "ConfigMap knative-serving/config-deployment",
        "ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.19.0": "ConfigMap kubeflow/katib-config",
        "ghcr.io/kubeflow/katib/file-metrics-collector:v0.19.0":
            "ConfigMap kubeflow/katib-config",
        "docker.io/kserve/storage-initializer:v0.16.0":
            "ConfigMap kubeflow/inferenceservice-config",
        "docker.io/kserve/agent:v0.16.0": "ConfigMap kubeflow/inferenceservice-config",
        "docker.io/kserve/router:v0.16.0": "ConfigMap kubeflow/inferenceservice-config",
        "docker.io/kserve/art-explainer:latest": "ConfigMap kubeflow/inferenceservice-config",
        "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-scipy:v1.10.0":
            "ConfigMap kubeflow/jupyter-web-app-config-",
        "ghcr.io/kubeflow/kubeflow/notebook-servers/rstudio-tidyverse:v1.10.0":
            "ConfigMap kubeflow/jupyter-web-app-config-",
        "ghcr.io/kubeflow/kfp-launcher:2.16.0":
            "Deployment kubeflow/ml-pipeline: container ml-pipeline-api-server env "
            "V2_LAUNCHER_IMAGE",
        "ghcr.io/kubeflow/kfp-driver:2.16.0":
            "Deployment kubeflow/ml-pipeline: container ml-pipeline-api-server env "
            "V2_DRIVER_IMAGE",
        "docker.io/kserve/sklearnserver:v0.16.0": "ClusterServingRuntime kserve-sklearnserver",
        "nvcr.io/nvidia/tritonserver:23.05-py3": "ClusterServingRuntime kserve-tritonserver",
        "ghcr.io/kubeflow/trainer/torchtune-trainer:v2.1.0":
            "ClusterTrainingRuntime torchtune-llama3.2-1b",
        "docker.io/pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime":
            "ClusterTrainingRuntime torch-distributed",
        "ghcr.io/containerd/busybox:latest": "ConfigMap kubeflow/pipeline-install-config",
    },
    "v1.10.2": {
        "docker.io/kserve/storage-initializer:v0.15.0":
            "ConfigMap kubeflow/inferenceservice-config",
        "docker.io/kserve/agent:v0.15.0": "ConfigMap kubeflow/inferenceservice-config",
        "ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.18.0": "ConfigMap kubeflow/katib-config",
        "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-scipy:v1.10.0":
            "ConfigMap kubeflow/jupyter-web-app-config-",
    },
}


def render_file(path: Path) -> RenderResult:
    return render_platform(load_platform(path), RenderOptions(offline=True))


@pytest.fixture(scope="module", params=RELEASES)
def plain(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          shared_cache: Path) -> tuple[str, RenderResult]:
    return _render(request.param, tmp_path_factory, shared_cache, "")


@pytest.fixture(scope="module", params=RELEASES)
def airgapped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
              shared_cache: Path) -> tuple[str, RenderResult]:
    return _render(request.param, tmp_path_factory, shared_cache,
                   f"  airgap: {{registry: \"{REGISTRY}\"}}\n")


def _render(release: str, factory: pytest.TempPathFactory, cache: Path,
            extra: str) -> tuple[str, RenderResult]:
    from tests.conftest import MANIFESTS, REMOTE_CACHE  # noqa: PLC0415

    folder = factory.mktemp(f"images-{release}")
    path = folder / "platform.yaml"
    path.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: lab}\n"
                    "spec:\n  target: local\n  release:\n"
                    f"    version: \"{release}\"\n    source: {MANIFESTS / release}\n"
                    f"    remoteCache: {REMOTE_CACHE}\n" + extra)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_CACHE_DIR", str(cache))
        return release, render_file(path)


def objects_of(result: RenderResult) -> list[dict[str, Any]]:
    return [item.obj for item in result.bundle.objects]


def test_hidden_images_are_found_where_they_hide(plain: tuple[str, RenderResult]) -> None:
    release, result = plain
    objects = objects_of(result)
    uses = find_image_uses(objects)
    in_pods = {u.image for u in uses if u.where.startswith("container ")}
    entries = {e.source: e for e in image_inventory(objects)}
    for image, where in HIDDEN[release].items():
        assert image in entries, image
        assert any(p.startswith(where) for p in entries[image].places), entries[image].places
    hidden = set(entries) - in_pods
    assert {i for i in HIDDEN[release] if "kfp-" not in i} <= hidden
    # images.txt is the same list, source references, sorted.
    assert result.bundle.images == sorted(entries) == image_list(objects)
    assert len(result.bundle.images) > len(in_pods) + 30


def test_words_in_a_config_map_are_not_images() -> None:
    # The grammar itself (words, normal form) is tested in tests/objects/test_images.py.
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                  "data": {"config.yaml": "image: disabled\nsidecarImage: busybox:1.28\n"
                                          "pullPolicy: Always\n"}}
    [use] = find_image_uses([config_map])
    assert use.image == "docker.io/library/busybox:1.28" and use.raw == "busybox:1.28"


def test_rewrite_leaves_nothing_public_and_still_validates(
        airgapped: tuple[str, RenderResult]) -> None:
    release, result = airgapped
    objects = objects_of(result)
    assert result.report.ok  # the render validated the rewritten objects
    for obj in objects:
        assert public_references(obj, REGISTRY) == [], obj["metadata"]["name"]
    assert all(i.startswith(f"{REGISTRY}/") for i in image_list(objects))
    # images.txt keeps the sources; the lock maps each destination back.
    assert result.bundle.images[0].split("/")[0] != REGISTRY
    sources = result.bundle.lock["imageSources"]
    assert set(sources.values()) == set(result.bundle.images)
    for image in HIDDEN[release]:
        assert image in sources.values()
    by_key = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
              for o in objects}
    katib = by_key[("ConfigMap", "kubeflow", "katib-config")]["data"]["katib-config.yaml"]
    assert f"image: {REGISTRY}/kubeflow/katib/suggestion-hyperopt:v0.1" in katib
    isvc = by_key[("ConfigMap", "kubeflow", "inferenceservice-config")]["data"]
    assert f'"{REGISTRY}/kserve/art-explainer"' in isvc["explainers"]  # tag kept apart
    if release == "26.03":
        injector = by_key[("ConfigMap", "istio-system", "istio-sidecar-injector")]["data"]
        assert f'"hub": "{REGISTRY}/istio-release"' in injector["values"].replace(
            '"hub":"', '"hub": "')
        queue = by_key[("ConfigMap", "knative-serving", "config-deployment")]["data"]
        assert queue["queue-sidecar-image"].startswith(
            f"{REGISTRY}/knative-releases/knative.dev/serving/cmd/queue@sha256:40957d3c")
        launcher = [e for c in by_key[("Deployment", "kubeflow", "ml-pipeline")]["spec"][
            "template"]["spec"]["containers"] for e in c.get("env", [])
            if e["name"] == "V2_LAUNCHER_IMAGE"]
        assert launcher[0]["value"] == f"{REGISTRY}/kubeflow/kfp-launcher:2.16.0"


def test_keep_source_host_and_collisions(platform_file: PlatformWriter) -> None:
    path = platform_file(spec_extra=f"  airgap: {{registry: \"{REGISTRY}/mirror\", "
                                    "keepSourceHost: true}\n")
    result = render_file(path)
    images = image_list(objects_of(result))
    assert f"{REGISTRY}/mirror/ghcr.io/kubeflow/katib/katib-controller:v0.19.0" in images
    assert f"{REGISTRY}/mirror/docker.io/kserve/agent:v0.16.0" in images


class Plant:
    """Adds objects to the render, as a feature would."""

    name = "plant"
    phase = Phase.SHAPE

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = objects

    def contribute(self, context: object, bundle: EditableBundle) -> None:
        for obj in self.objects:
            bundle.add(obj, "plant", "test")


def test_text_references_are_rewritten_and_others_fail_the_render(
        platform_file: PlatformWriter) -> None:
    path = platform_file(spec_extra=f"  airgap: {{registry: \"{REGISTRY}\"}}\n")
    script = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "notes", "namespace": "kubeflow"}, "data": {
            "run.sh": "#!/bin/sh\nexec ctr run quay.io/org/tool:1.2 --rm\n"}}
    result = render_platform(load_platform(path), RenderOptions(
        offline=True, contributions=(Plant(script),)))
    [notes] = [o for o in objects_of(result) if o["metadata"]["name"] == "notes"]
    assert notes["data"]["run.sh"] == f"#!/bin/sh\nexec ctr run {REGISTRY}/org/tool:1.2 --rm\n"
    # kfops does not rewrite annotations: a reference there stops the render, named.
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "tool", "namespace": "kubeflow", "annotations": {
            "example.com/sidecar": "quay.io/org/sidecar:2.0"}},
        "spec": {"ports": [{"port": 80}]}}
    with pytest.raises(RenderError) as caught:
        render_platform(load_platform(path), RenderOptions(
            offline=True, contributions=(Plant(service),)))
    assert "Service kubeflow/tool: metadata.annotations.example.com/sidecar: " \
           "quay.io/org/sidecar:2.0" in str(caught.value)


def test_public_reference_left_is_named_once() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "x"},
           "data": {"a": "see registry.k8s.io/pause:3.9 for details", "b": f"{REGISTRY}/p:1"}}
    assert public_references(obj, REGISTRY) == [("data[a]", "registry.k8s.io/pause:3.9")]


def test_images_list_cli(platform_file: PlatformWriter, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    from kfops.cli import main  # noqa: PLC0415

    path = platform_file(spec_extra=f"  airgap: {{registry: \"{REGISTRY}\"}}\n")
    assert main(["images", "list", "-f", str(path), "--offline", "-o", "json"]) == 0
    entries = {e["source"]: e for e in json.loads(capsys.readouterr().out)}
    agent = entries["docker.io/kserve/agent:v0.16.0"]
    assert agent["destination"] == f"{REGISTRY}/kserve/agent:v0.16.0"
    assert "ConfigMap kubeflow/inferenceservice-config: data[agent].image" in agent["foundIn"]
    # The same from the written bundle, whose lock maps destinations back to sources.
    assert main(["render", "-f", str(path), "--offline", "--out", str(tmp_path / "b"),
                 "-o", "json"]) == 0
    capsys.readouterr()
    assert main(["images", "list", "--bundle", str(tmp_path / "b"), "-o", "json"]) == 0
    from_bundle = {e["source"]: e for e in json.loads(capsys.readouterr().out)}
    assert from_bundle == entries
    assert sorted(entries) == (tmp_path / "b/images.txt").read_text().split()


def test_a_docker_hub_istio_hub_keeps_its_namespace(platform_file: PlatformWriter) -> None:
    """Istio's own default hub is docker.io/istio: the sidecar must land where mirror puts it."""
    values = json.dumps({"global": {"hub": "docker.io/istio", "tag": "1.24.3",
                                    "proxy": {"image": "proxyv2"}}})
    injector = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "injector-copy", "namespace": "kubeflow"}, "data": {"values": values}}
    path = platform_file(spec_extra=f"  airgap: {{registry: \"{REGISTRY}\"}}\n")
    result = render_platform(load_platform(path), RenderOptions(
        offline=True, contributions=(Plant(injector),)))
    [copy] = [o for o in objects_of(result) if o["metadata"]["name"] == "injector-copy"]
    assert json.loads(copy["data"]["values"])["global"]["hub"] == f"{REGISTRY}/istio"
    assert "docker.io/istio/proxyv2:1.24.3" in result.bundle.images
    assert result.bundle.lock["imageSources"][f"{REGISTRY}/istio/proxyv2:1.24.3"] == \
        "docker.io/istio/proxyv2:1.24.3"


@pytest.mark.parametrize("registry", ["harbor", "https://registry.internal", "harbor/kubeflow"])
def test_registry_must_be_a_host(registry: str, platform_file: PlatformWriter,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from kfops.cli import main  # noqa: PLC0415

    listing = platform_file().parent / "images.txt"
    listing.write_text("ghcr.io/kubeflow/x:1\n")
    assert main(["images", "mirror", "--to", registry, "--images", str(listing)]) == 2
    assert "registry host" in capsys.readouterr().err
