"""Deleting many objects: a failure stops only what would take the failed object along;
every other deletion is tried, and one error names each failure."""

from __future__ import annotations

from typing import Any

import pytest

from kfops.cluster import ApplyOptions, BundleFile, Cluster, apply_bundle, uninstall
from kfops.errors import DeletionsFailed, Forbidden, Unavailable
from kfops.objects import PART_OF, ApplySet
from tests.cluster.test_prune_rules import LABELS, WIDGETS
from tests.conftest import FAST_WAITS
from tests.emulator import RunningEmulator

# The Widget CRD and the ApplySet label of the prune rules' cases: this install's members.
TARGET = ApplySet("deletions", LABELS[PART_OF])
KEEP = ("v1", "ConfigMap", "default", "keep")


def _object(api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": LABELS}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def _files(*keys: tuple[str, str, str | None, str]) -> list[BundleFile]:
    """A bundle of these objects (with the Widget CRD when one is a Widget), by stage."""
    objects = [_object(*key) for key in keys]
    if any(o["kind"] == "Widget" for o in objects):
        objects.insert(0, WIDGETS)
    stages: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        stage = {"CustomResourceDefinition": "00-crds", "Namespace": "10-namespaces"}.get(
            obj["kind"], "30-platform")
        stages.setdefault(stage, []).append(obj)
    return [BundleFile(f"{stage}/test.yaml", "test", tuple(found))
            for stage, found in sorted(stages.items())]


def _present(emulator: RunningEmulator) -> set[tuple[str, str, str]]:
    """(plural, namespace, name) of what the emulated cluster holds."""
    with emulator.lock:
        return {(key[1], key[2], key[3]) for key in emulator.state.objects}


EVERYTHING = (KEEP,
              ("v1", "Namespace", None, "team-a"),
              ("v1", "ConfigMap", "team-a", "settings"),
              ("example.com/v1", "Widget", "team-a", "gadget"),
              ("v1", "ConfigMap", "default", "first"),
              ("v1", "ConfigMap", "default", "second"),
              ("v1", "Namespace", None, "team-b"),
              ("v1", "ConfigMap", "team-b", "settings"))


def test_a_prune_with_two_failing_deletions_names_both_and_deletes_the_rest(
        cluster: Cluster, emulator: RunningEmulator) -> None:
    options = ApplyOptions(waits=FAST_WAITS)
    apply_bundle(cluster, _files(*EVERYTHING), TARGET, options)
    emulator.state.deny("delete", "configmaps", "team-a")
    emulator.state.deny("delete", "widgets", "team-a")

    with pytest.raises(DeletionsFailed) as caught:
        apply_bundle(cluster, _files(KEEP), TARGET, options)

    failures = caught.value.failures
    assert [(type(f), f.status, f.kind, f.namespace, f.name) for f in failures] == [
        (Forbidden, 403, "ConfigMap", "team-a", "settings"),
        (Forbidden, 403, "Widget", "team-a", "gadget")]
    # What would take a failed object along waits for the next run; the rest is deleted.
    assert caught.value.held_back == [
        "Namespace team-a: holds ConfigMap team-a/settings, Widget team-a/gadget, which stay",
        "CustomResourceDefinition widgets.example.com: deleting it deletes Widget "
        "team-a/gadget, which stay"]
    assert str(caught.value).splitlines() == [
        "2 of the deletions failed (every other one was tried):",
        f"  {failures[0]}", f"  {failures[1]}",
        *(f"  not tried: {why}" for why in caught.value.held_back),
        "the install still records them, so the next run tries them again"]
    assert 'cannot delete resource "configmaps"' in str(failures[0])
    present = _present(emulator)
    assert {("configmaps", "team-a", "settings"), ("widgets", "team-a", "gadget"),
            ("namespaces", "", "team-a"), ("configmaps", "default", "keep"),
            ("customresourcedefinitions", "", "widgets.example.com")} <= present
    assert not present & {("configmaps", "default", "first"), ("configmaps", "default", "second"),
                          ("namespaces", "", "team-b"), ("configmaps", "team-b", "settings")}

    # The install still records them: once the deletions are allowed, the next run ends it.
    emulator.state.denied.clear()
    summary = apply_bundle(cluster, _files(KEEP), TARGET, options)
    assert set(summary.pruned) == {"ConfigMap team-a/settings", "Widget team-a/gadget",
                                   "Namespace team-a",
                                   "CustomResourceDefinition widgets.example.com"}


def test_one_failing_deletion_reads_as_itself(cluster: Cluster,
                                              emulator: RunningEmulator) -> None:
    options = ApplyOptions(waits=FAST_WAITS)
    apply_bundle(cluster, _files(KEEP, ("v1", "ConfigMap", "default", "first"),
                                 ("v1", "ConfigMap", "default", "second")), TARGET, options)
    emulator.state.deny("delete", "configmaps", "default")

    with pytest.raises(DeletionsFailed) as caught:
        apply_bundle(cluster, _files(KEEP, ("v1", "ConfigMap", "default", "second")),
                     TARGET, options)

    only = caught.value.failures[0]
    assert len(caught.value.failures) == 1 and not caught.value.held_back
    assert str(caught.value) == str(only)
    assert (caught.value.status, caught.value.kind, caught.value.namespace,
            caught.value.name) == (403, "ConfigMap", "default", "first")


def test_an_uninstall_tries_every_deletion_and_keeps_the_record_of_what_failed(
        cluster: Cluster, emulator: RunningEmulator) -> None:
    apply_bundle(cluster, _files(*EVERYTHING), TARGET, ApplyOptions(waits=FAST_WAITS))
    emulator.state.deny("delete", "configmaps", "team-b")

    with pytest.raises(DeletionsFailed) as caught:
        uninstall(cluster, TARGET, waits=FAST_WAITS)

    assert [(f.kind, f.namespace, f.name) for f in caught.value.failures] == [
        ("ConfigMap", "team-b", "settings")]
    assert caught.value.held_back == [
        "Namespace team-b: holds ConfigMap team-b/settings, which stay"]
    present = _present(emulator)
    assert {("configmaps", "team-b", "settings"), ("namespaces", "", "team-b"),
            ("secrets", "kube-system", TARGET.parent_name)} <= present
    assert not present & {("configmaps", "default", "keep"), ("namespaces", "", "team-a"),
                          ("customresourcedefinitions", "", "widgets.example.com")}


def test_an_api_server_that_stops_answering_stops_the_deletions(
        cluster: Cluster, emulator: RunningEmulator) -> None:
    options = ApplyOptions(waits=FAST_WAITS)
    apply_bundle(cluster, _files(*EVERYTHING), TARGET, options)
    emulator.state.deny("delete", "configmaps", "default")
    # The two refused deletions of default's ConfigMaps pass; every later one fails with 500.
    emulator.faults.methods, emulator.faults.skip = ("DELETE",), 2
    emulator.faults.rate, emulator.faults.kinds = 1.0, ("500",)

    with pytest.raises(DeletionsFailed) as caught:
        apply_bundle(cluster, _files(KEEP), TARGET, options)

    assert [(type(f), f.namespace, f.name) for f in caught.value.failures] == [
        (Forbidden, "default", "first"), (Forbidden, "default", "second"),
        (Unavailable, "team-a", "settings")]
    # Retried (8 attempts), then nothing more is sent: the rest would meet the same server.
    assert len(emulator.faults.injected) == 8
    assert caught.value.held_back == ["5 more: the API server stopped answering"]
