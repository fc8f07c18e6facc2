"""Stage folders, the kind order inside a file, and the deletion order."""

from __future__ import annotations

from typing import Any

from kfops.objects import (
    CRDS_STAGE,
    NAMESPACES_STAGE,
    PLATFORM_STAGE,
    PREREQS_STAGE,
    STAGES,
    deletion_order,
    file_name,
    kind_rank,
    stage_of,
)


def test_stage_names_sort_in_apply_order() -> None:
    # The cluster orders the stages of a bundle read from disk by sorting their folder names.
    assert list(STAGES) == sorted(STAGES)
    assert STAGES == (CRDS_STAGE, NAMESPACES_STAGE, PREREQS_STAGE, PLATFORM_STAGE)


def test_stage_of_an_object() -> None:
    prereqs = frozenset({"certManager"})

    assert stage_of("CustomResourceDefinition", "certManager", prereqs) == CRDS_STAGE
    assert stage_of("Namespace", "certManager", prereqs) == NAMESPACES_STAGE
    assert stage_of("Deployment", "certManager", prereqs) == PREREQS_STAGE
    assert stage_of("Deployment", "dex", prereqs) == PLATFORM_STAGE


def test_file_name_of_a_component() -> None:
    assert file_name("certManager") == "cert-manager.yaml"
    assert file_name("knativeServing") == "knative-serving.yaml"
    assert file_name("dex") == "dex.yaml"


def test_kind_rank_puts_unknown_kinds_late_and_validating_webhooks_last() -> None:
    kinds = ["ValidatingWebhookConfiguration", "Notebook", "Deployment", "Service",
             "ServiceAccount", "Namespace"]

    assert sorted(kinds, key=kind_rank) == [
        "Namespace", "ServiceAccount", "Service", "Deployment", "Notebook",
        "ValidatingWebhookConfiguration"]


def _obj(api_version: str, kind: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}


def test_deletion_order_objects_then_profiles_then_namespaces_then_crds() -> None:
    objects = [_obj("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
               _obj("v1", "Namespace"), _obj("kubeflow.org/v1", "Profile"),
               _obj("v1", "ConfigMap"), _obj("example.com/v1", "Profile")]

    assert [(o["apiVersion"], o["kind"]) for o in sorted(objects, key=deletion_order)] == [
        ("v1", "ConfigMap"), ("example.com/v1", "Profile"), ("kubeflow.org/v1", "Profile"),
        ("v1", "Namespace"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition")]
