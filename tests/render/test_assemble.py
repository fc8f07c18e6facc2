"""Assembly: objects go to their owners, duplicates merge when identical, conflicts stop."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kfops.catalog import catalog_for
from kfops.errors import RenderError
from kfops.render._assemble import assemble
from kfops.render._documents import dump_document, split_documents
from kfops.render._kustomize import find_kustomize
from kfops.render._units import Unit
from tests.conftest import MANIFESTS


def built(path: str) -> list[tuple[str, dict[str, Any]]]:
    """Real objects: one folder of the 26.03 release as kustomize builds it."""
    return split_documents(find_kustomize().build(MANIFESTS / "26.03" / path))


def gateway_documents() -> list[tuple[str, dict[str, Any]]]:
    documents = [d for d in built("common/istio/kubeflow-istio-resources/base")
                 if d[1]["kind"] == "Gateway"]
    assert documents
    return documents


def units(*components: str) -> list[Unit]:
    return [Unit(c, f"path/of/{c}", "{}") for c in components]


CATALOG = catalog_for("26.03", MANIFESTS / "26.03")


def test_identical_objects_from_two_components_are_kept_once() -> None:
    documents = gateway_documents()
    items = assemble(units("kubeflowIstioResources", "kserve"), [documents, documents], CATALOG,
                     {"kubeflowIstioResources", "kserve"}).objects
    assert [(i.kind, i.component) for i in items] == [("Gateway", "kubeflowIstioResources")]


def test_the_copy_survives_when_its_first_owner_is_off() -> None:
    documents = gateway_documents()
    items = assemble(units("kubeflowIstioResources", "kserve"), [documents, documents], CATALOG,
                     {"kserve"}).objects
    assert [i.component for i in items] == ["kserve"]


def test_differing_copies_are_a_conflict_naming_both_and_the_field() -> None:
    documents = gateway_documents()
    changed = copy.deepcopy(documents[0][1])
    changed["spec"]["servers"][0]["port"]["number"] = 8080
    with pytest.raises(RenderError) as caught:
        assemble(units("kubeflowIstioResources", "kserve"),
                 [documents, [(dump_document(changed), changed)]], CATALOG,
                 {"kubeflowIstioResources", "kserve"})
    assert str(caught.value) == (
        "objects that two components both produce differ:\n"
        "Gateway kubeflow/kubeflow-gateway: kubeflowIstioResources and kserve produce different "
        "versions (first difference at spec.servers[0].port.number)")


def test_shared_folder_objects_go_to_their_component() -> None:
    documents = built("common/kubeflow-namespace/base")
    installed = {"kubeflowNamespace", "katib"}
    owners = {(i.kind, i.obj["metadata"]["name"]): i.component
              for i in assemble(units("kubeflowNamespace"), [documents], CATALOG,
                                installed).objects}
    assert owners[("NetworkPolicy", "katib-controller")] == "katib"
    assert owners[("Namespace", "kubeflow")] == "kubeflowNamespace"
    assert ("NetworkPolicy", "kserve") not in owners  # kserve is not installed here


def test_cluster_scoped_objects_lose_a_namespace() -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "spark-operator-controller", "namespace": "kubeflow"}}
    [item] = assemble(units("sparkOperator"), [[(dump_document(role), role)]], CATALOG,
                      {"sparkOperator"}).objects
    assert "namespace" not in item.obj["metadata"]
    assert "namespace" not in item.text


def test_a_namespaced_object_without_a_namespace_goes_where_kubectl_puts_it() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "reader"}}
    assembled = assemble(units("sparkOperator"),
                         [[(dump_document(config), config), (dump_document(role), role)]],
                         CATALOG, {"sparkOperator"})
    placed, cluster_wide = assembled.objects
    assert placed.obj["metadata"]["namespace"] == "default"
    assert "namespace: default" in placed.text
    assert "namespace" not in cluster_wide.obj["metadata"]
    assert assembled.warnings == ["ConfigMap default/settings: path/of/sparkOperator gives it no "
                                  "namespace; placed in default, as kubectl apply would"]
