"""GPU stack and Karpenter pools rendered from the real releases, checked with the real CRDs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfops.config import Gpu, NodePool
from kfops.errors import ConfigError
from kfops.gpu import crd_requirements, node_pool
from kfops.render import RenderResult, load_extra_crds, validate_bundle, write_bundle
from kfops.validate import validate_objects
from tests.conftest import RELEASES, UPSTREAM
from tests.helpers.presets import Objects, render_preset

CRDS = UPSTREAM / "crds"
DEVICE_PLUGIN = UPSTREAM / "prereqs/nvidia-device-plugin-v0.20.0/nvidia-device-plugin.yml"
TAINT = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
TEAM = """  profiles:
  - name: team-gpu
    owner: alice@example.com
    quota: {nvidia.com/gpu: "2"}
    podDefaults: [gpuToleration]
"""


@pytest.fixture(autouse=True)
def connector_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "github-secret-from-env")
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "entra-secret-from-env")


def aks_edit(driver: bool = False, expire: str = "720h") -> Any:
    def edit(text: str) -> str:
        text = text.replace("    driver: false ", f"    driver: {str(driver).lower()} ")
        return text.replace("expireAfter: 720h", f"expireAfter: {expire}") + TEAM
    return edit


def onprem_edit(install: str, replicas: int = 4) -> Any:
    def edit(text: str) -> str:
        text = re.sub(r"  # (gpu:|  enabled|  install|  driver|  timeSlicing)", r"  \1", text)
        text = text.replace("install: operator ", f"install: {install} ").replace(
            "timeSlicing: {replicas: 4}", f"timeSlicing: {{replicas: {replicas}}}\n"
                                          f"    source: {DEVICE_PLUGIN}")
        return text + TEAM
    return edit


@pytest.fixture(scope="module", params=RELEASES)
def aks(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        shared_cache: Path) -> RenderResult:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_CACHE_DIR", str(shared_cache))
        patch.setenv("ENTRA_CLIENT_SECRET", "entra-secret-from-env")
        return render_preset(tmp_path_factory.mktemp("aks"), "aks", str(request.param),
                             aks_edit())


def spawner_group(objects: Objects) -> list[dict[str, Any]]:
    config = objects.starting("ConfigMap", "jupyter-web-app-config-", "kubeflow")
    parsed = yaml.safe_load(config["data"]["spawner_ui_config.yaml"])
    return list(parsed["spawnerFormDefaults"]["tolerationGroup"]["options"])


def pod_default_tolerations(objects: Objects) -> list[dict[str, Any]]:
    return list(objects.get("PodDefault", "gpu-toleration", "team-gpu")["spec"]["tolerations"])


def test_aks_node_pools_and_classes(aks: RenderResult) -> None:
    objects = Objects(aks)
    general, gpu = (objects.get("NodePool", n) for n in ("general", "gpu"))
    assert gpu["apiVersion"] == "karpenter.sh/v1"
    template = gpu["spec"]["template"]["spec"]
    assert template["nodeClassRef"] == {"group": "karpenter.azure.com", "kind": "AKSNodeClass",
                                        "name": "gpu"}
    assert {"key": "karpenter.azure.com/sku-gpu-manufacturer", "operator": "In",
            "values": ["nvidia"]} in template["requirements"]
    assert {"key": "karpenter.azure.com/sku-family", "operator": "In",
            "values": ["NC"]} in template["requirements"]
    assert template["expireAfter"] == "720h" and "expireAfter" not in gpu["spec"]
    assert gpu["spec"]["disruption"] == {"consolidationPolicy": "WhenEmpty",
                                         "consolidateAfter": "10m"}
    assert general["spec"]["limits"] == {"cpu": "100"}
    assert general["spec"]["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert "taints" not in general["spec"]["template"]["spec"]
    assert {"key": "karpenter.azure.com/sku-gpu-manufacturer", "operator": "DoesNotExist"} in \
        general["spec"]["template"]["spec"]["requirements"]
    gpu_class = objects.get("AKSNodeClass", "gpu")
    assert gpu_class["apiVersion"] == "karpenter.azure.com/v1beta1"
    # driver: false: the operator installs no driver, so AKS's node image brings it.
    assert gpu_class["spec"] == {"imageFamily": "Ubuntu2204", "gpu": {"mode": "Driver"}}
    assert objects.get("AKSNodeClass", "general")["spec"] == {"imageFamily": "Ubuntu2204"}
    assert any(p.endswith("20-prereqs/karpenter.yaml") for p in aks.bundle.files)


def test_one_taint_everywhere(aks: RenderResult) -> None:
    """GPU pool taint = operator toleration = PodDefault toleration = spawner group."""
    objects = Objects(aks)
    [taint] = objects.get("NodePool", "gpu")["spec"]["template"]["spec"]["taints"]
    assert {**taint, "operator": "Equal"} == TAINT
    values = yaml.safe_load(aks.bundle.extra_files["helm/gpu-operator-values.yaml"])
    assert values["daemonsets"]["tolerations"] == [TAINT]
    assert pod_default_tolerations(objects) == [TAINT]
    [group] = spawner_group(objects)
    assert group["tolerations"] == [TAINT] and group["groupKey"] == "gpu-nodes"
    # The web app reads its config at start: a changed group restarts it.
    deployment = objects.get("Deployment", "jupyter-web-app-deployment", "kubeflow")
    assert "kfops.io/config-digest" in deployment["spec"]["template"]["metadata"]["annotations"]


def test_operator_values_and_command(aks: RenderResult, tmp_path: Path) -> None:
    values = yaml.safe_load(aks.bundle.extra_files["helm/gpu-operator-values.yaml"])
    assert values["driver"] == {"enabled": False}
    assert "devicePlugin" not in values  # replicas 1: no time-slicing
    [requirement] = [r for r in crd_requirements(aks.bundle.lock)
                     if r["crd"] == "clusterpolicies.nvidia.com"]
    assert requirement["fix"].endswith(
        "helm upgrade --install gpu-operator nvidia/gpu-operator --namespace gpu-operator "
        "--create-namespace --version v26.7.0 --wait --set driver.enabled=false "
        "--set-string 'daemonsets.tolerations[0].key=nvidia.com/gpu' "
        "--set-string 'daemonsets.tolerations[0].operator=Equal' "
        "--set-string 'daemonsets.tolerations[0].value=true' "
        "--set-string 'daemonsets.tolerations[0].effect=NoSchedule'")
    script = tmp_path / "gpu-operator-install.sh"
    script.write_text(aks.bundle.extra_files["helm/gpu-operator-install.sh"])
    subprocess.run(["bash", "-n", str(script)], check=True)
    subprocess.run([shellcheck(), str(script)], check=True)
    assert '--values "$(dirname "$0")/gpu-operator-values.yaml"' in script.read_text()
    # Helm creates the namespace too; kfops's copy is kept by an uninstall.
    namespace = Objects(aks).get("Namespace", "gpu-operator")
    assert "kfops.io/keep" in namespace["metadata"]["annotations"]


def test_pools_and_metallb_validate_against_the_shared_crds(aks: RenderResult,
                                                            tmp_path: Path) -> None:
    objects = [o for o in Objects(aks).all if o["kind"] in ("NodePool", "AKSNodeClass")]
    assert len(objects) == 4
    report = validate_objects(objects, "1.32", load_extra_crds([CRDS]))
    assert report.ok, report.problems
    assert report.not_evaluated == []  # every CEL rule ran (trailing commas included)
    onprem = render_preset(tmp_path, "onprem", "26.03")
    metallb = [o for o in Objects(onprem).all if o["apiVersion"].startswith("metallb.io/")]
    assert {o["kind"] for o in metallb} == {"IPAddressPool", "L2Advertisement"}
    report = validate_objects(metallb, "1.32", load_extra_crds([CRDS / "metallb-v0.16.1"]))
    assert report.ok and report.not_evaluated == []


def test_cel_rules_of_the_crds_catch_a_bad_pool() -> None:
    bad = node_pool(NodePool(name="gpu", gpu=True), Gpu(enabled=True))
    bad["spec"]["template"]["spec"]["requirements"].append(
        {"key": "karpenter.sh/nodepool", "operator": "In", "values": ["x"]})
    report = validate_objects([bad], "1.32", load_extra_crds([CRDS]))
    assert not report.ok
    assert any("karpenter.sh/nodepool" in str(p) for p in report.problems), report.problems


def test_operator_with_its_driver_gets_nodes_without_one(tmp_path: Path) -> None:
    result = render_preset(tmp_path, "aks", "26.03", aks_edit(driver=True, expire="12h"))
    objects = Objects(result)
    assert objects.get("AKSNodeClass", "gpu")["spec"]["gpu"] == {"mode": "None"}
    assert yaml.safe_load(result.bundle.extra_files["helm/gpu-operator-values.yaml"])[
        "driver"] == {"enabled": True}
    assert any("expireAfter 12h is under 24h" in w for w in result.bundle.warnings)


def test_gpu_pool_needs_gpu_enabled(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        render_preset(tmp_path, "aks", "26.03", lambda text: text.replace(
            "  gpu:\n    enabled: true\n", "  gpu:\n    enabled: false\n"))
    assert [p.path for p in caught.value.problems] == ["spec.karpenter.nodePools[1].gpu"]


@pytest.mark.parametrize("release", RELEASES)
def test_onprem_device_plugin_with_time_slicing(tmp_path: Path, release: str) -> None:
    result = render_preset(tmp_path, "onprem", release, onprem_edit("devicePlugin"))
    objects = Objects(result)
    plugin = objects.get("DaemonSet", "nvidia-device-plugin-daemonset", "kube-system")
    pod = plugin["spec"]["template"]["spec"]
    assert pod["tolerations"] == [TAINT] == pod_default_tolerations(objects)
    assert spawner_group(objects)[0]["tolerations"] == [TAINT]
    [container] = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"CONFIG_FILE": "/etc/nvidia-device-plugin/config.yaml",
                   "FAIL_ON_INIT_ERROR": "false"}
    assert {"name": "time-slicing-config", "mountPath": "/etc/nvidia-device-plugin",
            "readOnly": True} in container["volumeMounts"]
    config = objects.get("ConfigMap", "time-slicing-config", "kube-system")
    assert yaml.safe_load(config["data"]["config.yaml"]) == {
        "version": "v1",
        "sharing": {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}}}
    assert "20-prereqs/gpu-device-plugin.yaml" in result.bundle.files
    assert result.bundle.extra_files == {}  # no Helm here
    assert result.bundle.lock["sources"][str(DEVICE_PLUGIN)].startswith("sha256:")


def test_onprem_device_plugin_without_sharing_mounts_nothing(tmp_path: Path) -> None:
    result = render_preset(tmp_path, "onprem", "26.03", onprem_edit("devicePlugin", 1))
    objects = Objects(result)
    pod = objects.get("DaemonSet", "nvidia-device-plugin-daemonset", "kube-system")[
        "spec"]["template"]["spec"]
    assert "volumes" in pod and all(v["name"] != "time-slicing-config" for v in pod["volumes"])
    assert not objects.has("ConfigMap", "time-slicing-config", "kube-system")


def test_onprem_operator_time_slicing_in_the_bundle(tmp_path: Path) -> None:
    result = render_preset(tmp_path, "onprem", "v1.10.2", onprem_edit("operator"))
    objects = Objects(result)
    config = objects.get("ConfigMap", "time-slicing-config", "gpu-operator")
    assert yaml.safe_load(config["data"]["any"])["sharing"]["timeSlicing"]["resources"] == [
        {"name": "nvidia.com/gpu", "replicas": 4}]
    values = yaml.safe_load(result.bundle.extra_files["helm/gpu-operator-values.yaml"])
    assert values["devicePlugin"] == {"config": {"name": "time-slicing-config", "default": "any"}}
    assert values["driver"] == {"enabled": False}
    assert not objects.has("DaemonSet", "nvidia-device-plugin-daemonset", "kube-system")


def test_written_bundle_keeps_helm_files_and_schemas_apart(aks: RenderResult,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(aks.bundle, out)
    assert (out / "helm/gpu-operator-install.sh").is_file()
    assert (out / "schemas/karpenter.sh_nodepools.yaml").is_file()
    lock = yaml.safe_load((out / "kfops.lock").read_text())
    assert "helm/gpu-operator-values.yaml" in lock["files"]
    assert {r["crd"] for r in lock["requires"]} == {
        "clusterpolicies.nvidia.com", "nodepools.karpenter.sh",
        "aksnodeclasses.karpenter.azure.com"}
    # Offline, with no --crds: the bundle carries Karpenter's CRDs to validate against.
    report = validate_bundle(out)
    assert report.ok and report.checked == len(aks.bundle.objects)


def shellcheck() -> str:
    found = shutil.which("shellcheck")
    if found is None:
        pytest.fail("shellcheck is not installed: run scripts/install-system-deps")
    return found
