"""The prune decisions one rule at a time, on small objects in the emulated cluster.

The probe (test_foreign_objects.py) runs them on the real platform; here each
rule of kfops.cluster._prune and of membership gets its own case.
"""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

from kfops.cluster import Cluster, wait_for
from kfops.cluster._inventory import inventory_of
from kfops.cluster._live import members, snapshot
from kfops.cluster._prune import PruneRules, decide
from kfops.cluster._waits import crds_pending
from kfops.objects import Identity, identity_of
from tests.conftest import FAST_WAITS
from tests.emulator import RunningEmulator

LABELS = {"applyset.kubernetes.io/part-of": "applyset-test-v1"}
WIDGETS = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com", "labels": LABELS},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {
                                      "type": "object",
                                      "x-kubernetes-preserve-unknown-fields": True}}}]}}


def _apply(cluster: Cluster, *objects: dict[str, Any]) -> dict[Identity, dict[str, Any]]:
    """Apply `objects` as kfops does; the live objects by identity (the members)."""
    found = {}
    for obj in objects:
        live = cluster.apply({**obj, "metadata": {**obj["metadata"], "labels": LABELS}})
        live.setdefault("apiVersion", obj["apiVersion"])
        live.setdefault("kind", obj["kind"])
        found[identity_of(live)] = live
    return found


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _owned(kind: str, api_version: str, name: str, namespace: str,
           owner: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, **extra, "metadata": {
        "name": name, "namespace": namespace, "ownerReferences": [{
            "apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True}]}}


DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": "team"},
              "spec": {"selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def _verdicts(cluster: Cluster, mine: dict[Identity, dict[str, Any]],
              rules: PruneRules | None = None) -> dict[str, tuple[bool, str]]:
    decisions = decide(cluster, mine.values(), mine, [], rules or PruneRules())
    return {d.what: (d.delete, d.reason) for d in decisions}


def test_what_kubernetes_and_controllers_made_from_members_goes_with_them(
        cluster: Cluster) -> None:
    mine = _apply(cluster, _namespace("team"), DEPLOYMENT,
                  {"apiVersion": "v1", "kind": "Service", "metadata": {
                      "name": "web", "namespace": "team"}, "spec": {"selector": {"app": "web"}}},
                  {"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "robot", "namespace": "team"}})
    deployment = mine[("apps", "Deployment", "team", "web")]
    replicas = cluster.apply(_owned("ReplicaSet", "apps/v1", "web-1", "team", deployment,
                                    spec=DEPLOYMENT["spec"]))
    cluster.apply(_owned("Pod", "v1", "web-1-a", "team", {**replicas, "kind": "ReplicaSet",
                                                          "apiVersion": "apps/v1"},
                         spec={"containers": [{"name": "c", "image": "i"}]}))
    cluster.apply({"apiVersion": "v1", "kind": "Endpoints",
                   "metadata": {"name": "web", "namespace": "team"}})
    cluster.apply({"apiVersion": "v1", "kind": "Secret",
                   "type": "kubernetes.io/service-account-token", "metadata": {
                       "name": "robot-token", "namespace": "team", "annotations": {
                           "kubernetes.io/service-account.name": "robot"}}})

    verdicts = _verdicts(cluster, mine)

    # default ServiceAccount, kube-root-ca.crt, EndpointSlice, ReplicaSet, Pod, Endpoints,
    # token Secret: none of them keeps the namespace.
    assert verdicts["Namespace team"] == (True, "")


def test_a_users_objects_keep_the_namespace_and_are_named(cluster: Cluster) -> None:
    mine = _apply(cluster, _namespace("team"))
    theirs = cluster.apply(DEPLOYMENT)
    replicas = cluster.apply(_owned("ReplicaSet", "apps/v1", "web-1", "team", {
        **theirs, "apiVersion": "apps/v1", "kind": "Deployment"}, spec=DEPLOYMENT["spec"]))
    cluster.apply(_owned("Pod", "v1", "web-1-a", "team", {
        **replicas, "apiVersion": "apps/v1", "kind": "ReplicaSet"},
        spec={"containers": [{"name": "c", "image": "i"}]}))

    kept = _verdicts(cluster, mine, PruneRules(purge_data=True))
    purged = _verdicts(cluster, mine, PruneRules(purge_foreign=True))

    assert kept["Namespace team"] == (False, (
        "holds 1 object kfops did not apply (and 2 objects they own): Deployment team/web "
        "(--purge-foreign deletes them with it)"))
    assert purged["Namespace team"] == (True, (
        "also deletes 1 object kfops did not apply (and 2 objects they own): Deployment "
        "team/web (--purge-foreign)"))


def test_claims_of_a_member_statefulset_are_data(cluster: Cluster) -> None:
    mine = _apply(cluster, _namespace("db"), {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "mysql",
                                                                      "namespace": "db"},
        "spec": {"selector": {"matchLabels": {"app": "mysql"}}, "serviceName": "mysql",
                 "template": {"metadata": {"labels": {"app": "mysql"}},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}}]}})
    cluster.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "data-mysql-0", "namespace": "db"},
                   "spec": {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}})

    assert _verdicts(cluster, mine)["Namespace db"] == (False, (
        "holds data its StatefulSets made: PersistentVolumeClaim db/data-mysql-0 "
        "(--purge-data deletes it)"))
    assert _verdicts(cluster, mine, PruneRules(purge_data=True))["Namespace db"] == (True, "")


def test_a_crd_goes_only_with_all_its_objects(cluster: Cluster) -> None:
    mine = _apply(cluster, WIDGETS)
    cluster.learn_crds([WIDGETS])
    wait_for(FAST_WAITS, "the CRD", lambda: crds_pending(cluster, [WIDGETS]))
    mine |= _apply(cluster, {"apiVersion": "example.com/v1", "kind": "Widget",
                             "metadata": {"name": "ours", "namespace": "default"}})
    assert _verdicts(cluster, mine)["CustomResourceDefinition widgets.example.com"] == (
        True, "")  # its only object is a member, deleted first

    cluster.apply({"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "theirs", "namespace": "default"}})

    for rules in (PruneRules(), PruneRules(purge_data=True)):
        assert _verdicts(cluster, mine, rules)["CustomResourceDefinition widgets.example.com"] \
            == (False, "deleting it deletes 1 Widget object kfops did not apply: Widget "
                       "default/theirs (--purge-foreign deletes them with it)")
    assert _verdicts(cluster, mine, PruneRules(purge_foreign=True))[
        "CustomResourceDefinition widgets.example.com"][0] is True


def test_a_copied_label_makes_no_member(cluster: Cluster, emulator: RunningEmulator) -> None:
    mine = _apply(cluster, _namespace("team"), {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ours",
                                                              "namespace": "team"}})
    for namespace in ("team", "default"):
        answer = httpx.post(f"{emulator.url}/api/v1/namespaces/{namespace}/configmaps", json={
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "copy", "namespace": namespace, "labels": LABELS}})
        assert answer.status_code == 201
    inventory = inventory_of(mine.values(), ["applyset-test-v1"])

    found = members(snapshot(cluster, inventory), inventory)

    assert sorted(found.members) == sorted(mine)
    assert [(d.what, d.reason) for d in found.ignored] == [
        ("ConfigMap default/copy", "carries this install's ApplySet label, but namespace "
                                   "default is not one the ApplySet lists; left alone"),
        ("ConfigMap team/copy", "carries this install's ApplySet label, but kfops never "
                                "applied it (the label was set by before-first-apply); left "
                                "alone")]
    assert _verdicts(cluster, found.members)["Namespace team"][0] is False
