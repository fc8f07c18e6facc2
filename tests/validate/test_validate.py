"""Offline validation: planted mistakes in copies of real upstream objects are caught."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kfops.config import load_platform
from kfops.errors import ValidationError
from kfops.render import RenderOptions, load_extra_crds, render
from kfops.validate import (
    ValidationReport,
    kubernetes_version_problem,
    supported_versions,
    validate_objects,
)
from tests.conftest import UPSTREAM


@pytest.fixture(scope="module")
def upstream_objects(
    tmp_path_factory: pytest.TempPathFactory, shared_cache: Path
) -> list[dict[str, Any]]:
    """The rendered 26.03 default platform (rendered once for the module)."""
    os.environ["KFOPS_CACHE_DIR"] = str(shared_cache)
    folder = tmp_path_factory.mktemp("platform")
    (folder / "platform.yaml").write_text(
        "apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata: {name: lab}\n"
        "spec:\n  target: local\n  release:\n"
        f"    source: {UPSTREAM / 'kubeflow-manifests' / '26.03'}\n"
        f"    remoteCache: {UPSTREAM / 'remote-cache'}\n"
    )
    result = render(load_platform(folder / "platform.yaml"), RenderOptions(offline=True))
    return [o.obj for o in result.bundle.objects]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return copy.deepcopy(next(o for o in objects if o["kind"] == kind
                              and o["metadata"]["name"] == name))


def check(objects: list[dict[str, Any]], *planted: dict[str, Any]) -> ValidationReport:
    return validate_objects([*objects, *planted], "1.34")


def lines(report: ValidationReport) -> list[str]:
    return [str(p) for p in report.problems]


def test_the_upstream_platform_is_valid(upstream_objects: list[dict[str, Any]]) -> None:
    report = validate_objects(upstream_objects, "1.34")
    assert report.ok, lines(report)
    assert report.checked == len(upstream_objects)
    assert report.not_evaluated == []


def test_planted_schema_errors_name_object_and_field(
    upstream_objects: list[dict[str, Any]]
) -> None:
    deployment = find(upstream_objects, "Deployment", "katib-controller")
    deployment["spec"]["replicas"] = "two"
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicie"] = "Always"
    others = [o for o in upstream_objects if o["metadata"]["name"] != "katib-controller"
              or o["kind"] != "Deployment"]
    assert lines(check(others, deployment)) == [
        'Deployment kubeflow/katib-controller: spec.replicas: expected an integer, got "two"',
        "Deployment kubeflow/katib-controller: spec.template.spec.containers[0]"
        '.imagePullPolicie: unknown field "imagePullPolicie"',
    ]


def test_planted_custom_resource_schema_error(upstream_objects: list[dict[str, Any]]) -> None:
    gateway = find(upstream_objects, "Gateway", "kubeflow-gateway")
    gateway["metadata"]["name"] = "planted"
    gateway["spec"]["servers"][0]["port"]["number"] = "eighty"
    gateway["spec"]["serverz"] = []
    assert lines(check(upstream_objects, gateway)) == [
        'Gateway kubeflow/planted: spec.servers[0].port.number: expected an integer, got "eighty"',
        'Gateway kubeflow/planted: spec.serverz: unknown field "serverz"',
    ]


def test_planted_cel_rule_violation_in_an_upstream_object(
    upstream_objects: list[dict[str, Any]]
) -> None:
    jwt = find(upstream_objects, "RequestAuthentication", "dex-jwt")
    jwt["metadata"]["name"] = "planted"
    rule = jwt["spec"]["jwtRules"][0]
    rule["jwksUri"] = "http://dex.auth.svc.cluster.local:5556/dex/keys"
    rule["jwks"] = '{"keys": []}'
    [problem] = check(upstream_objects, jwt).problems
    assert problem.object_id == "RequestAuthentication istio-system/planted"
    assert problem.field == "spec.jwtRules[0]"
    assert problem.message.startswith("only one of jwks or jwksUri can be set")
    assert "(rule: " in problem.message


def test_cel_rules_of_third_party_crds(upstream_objects: list[dict[str, Any]]) -> None:
    crds = load_extra_crds([UPSTREAM / "crds" / "karpenter-provider-azure-v1.14.2"])
    pool: dict[str, Any] = {
        "apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "gpu"},
        "spec": {"template": {"spec": {
            "nodeClassRef": {"group": "karpenter.azure.com", "kind": "AKSNodeClass",
                             "name": "gpu"},
            "requirements": [{"key": "karpenter.sh/nodepool", "operator": "In",
                              "values": ["x"]}],
        }}},
    }
    report = validate_objects([pool], "1.34", crds)
    assert [p.message.split(" (rule")[0] for p in report.problems] == [
        'label "karpenter.sh/nodepool" is restricted']
    assert report.problems[0].field == "spec.template.spec.requirements[0].key"
    pool["spec"]["template"]["spec"]["requirements"][0]["key"] = "karpenter.azure.com/sku-family"
    assert validate_objects([pool], "1.34", crds).ok


def test_rules_cel_python_cannot_evaluate_are_reported_not_passed() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster",
                 "names": {"kind": "Widget", "plural": "widgets"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                     "openAPIV3Schema": {"type": "object", "properties": {"spec": {
                         "type": "object", "properties": {"url": {"type": "string"}},
                         "x-kubernetes-validations": [
                             {"rule": "quantity(self.url).isInteger()"}]}}}}}]},
    }
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"url": "https://example.com"}}
    report = validate_objects([crd, widget], "1.34")
    assert report.ok
    [note] = report.not_evaluated
    assert note.startswith("Widget w: spec: rule not evaluated: quantity(self.url).isInteger()")


def test_a_kind_without_schema_is_reported() -> None:
    report = validate_objects([{"apiVersion": "example.com/v1", "kind": "Gadget",
                                "metadata": {"name": "g", "namespace": "default"}}], "1.34")
    assert lines(report) == [
        "Gadget default/g: (object): no schema for example.com/v1 Gadget: not a built-in kind "
        "of Kubernetes 1.34, and no CustomResourceDefinition defines it"]


def test_names_and_namespaces_the_api_server_would_refuse() -> None:
    objects = [
        {"apiVersion": "kubeflow.org/v1beta1", "kind": "Profile",
         "metadata": {"name": "$(profile-name)"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}},
    ]
    report = validate_objects(objects, "1.34")
    assert lines(report) == [
        "Profile $(profile-name): (object): no schema for kubeflow.org/v1beta1 Profile: not a "
        "built-in kind of Kubernetes 1.34, and no CustomResourceDefinition defines it",
        "ConfigMap settings: metadata.namespace: namespaced kind without a namespace (it would "
        "land in whatever namespace kubectl defaults to)",
    ]


def test_unresolved_variables_in_names(upstream_objects: list[dict[str, Any]]) -> None:
    profile = find(upstream_objects, "Profile", "kubeflow-user-example-com")
    profile["metadata"]["name"] = "$(profile-name)"
    assert lines(check(upstream_objects, profile)) == [
        "Profile $(profile-name): metadata.name: '$(profile-name)' is an unresolved kustomize "
        "variable"]


def test_kubernetes_versions() -> None:
    versions = supported_versions()
    assert versions[0] == "1.25" and "1.34" in versions
    assert kubernetes_version_problem("1.34") is None
    assert kubernetes_version_problem("1.20") == (
        f"no Kubernetes schemas for 1.20; available: 1.25 to {versions[-1]}")


def test_results_are_cached_per_object(
    upstream_objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    first = validate_objects(upstream_objects, "1.34", cache_dir=tmp_path)
    again = validate_objects(upstream_objects, "1.34", cache_dir=tmp_path)
    assert (first.cached, again.cached) == (0, len(upstream_objects))
    broken = find(upstream_objects, "Deployment", "katib-controller")
    broken["spec"]["replicas"] = "two"
    third = validate_objects([*upstream_objects, broken], "1.34", cache_dir=tmp_path)
    assert third.cached == len(upstream_objects) and len(third.problems) == 1


def test_render_refuses_a_release_with_a_broken_object(
    release_copy: Callable[[str], Path], platform_file: Callable[..., Path], tmp_path: Path
) -> None:
    root = release_copy("26.03")
    deployment = root / "applications/katib/upstream/components/ui/ui.yaml"
    deployment.write_text(deployment.read_text().replace("replicas: 1", 'replicas: "1"', 1))
    path = platform_file("26.03")
    path.write_text(path.read_text().replace(str(UPSTREAM / "kubeflow-manifests" / "26.03"),
                                             str(root)))
    with pytest.raises(ValidationError) as caught:
        render(load_platform(path), RenderOptions(offline=True))
    assert [str(p) for p in caught.value.problems] == [
        'Deployment kubeflow/katib-ui: spec.replicas: expected an integer, got "1"']
