"""Emulator conformance: every API-server behaviour tests/emulator emulates, asserted alike
against the emulator and the real control plane (kube-apiserver v1.35.4), so the emulator
cannot drift from the server unnoticed.

Each test runs twice through the `server` fixture (`[emulator]` and `[real]`) and sees the
same interface: a kfops Cluster, a raw Rest client and a poll with a deadline (the real
control plane's controllers act in the background). Real runs share one control plane;
every test works in namespaces and on names of its own.

Tested on both, one test per behaviour of tests/emulator/_state.py's docstring:
uid, resourceVersion and generation (no-op writes keep the version); 409 on a stale
resourceVersion; server-side apply conflicts unless forced; fields a manager stops applying
removed; managedFields as kfops reads them (Apply and Update entries, a POST's fieldManager
an Update owner); Secret stringData stored as data; empty omitempty maps not stored; dryRun
not stored; CRDs served once Established; DNS-1123 names and RBAC's laxer names; namespaced
objects need an existing namespace, and a terminating one takes no new object; ownerReference
cascades; namespace deletion deletes its contents and waits for finalizers; deleting a CRD
deletes its objects; Deployments become available and EndpointSlices are owned by their
Service; a new namespace's ServiceAccount, kube-root-ca.crt and name label; discovery drops a
deleted CRD's kind; Lease validation and leases that never expire; 403 for a denied verb;
plain-text 404 for a group nothing serves; a multi-version CRD answering in the version
asked for; quantities in canonical form; zero values of omitempty fields dropped; fields an
update may not change (workload selectors, a StatefulSet's spec, a Job's template and
completions, roleRef, a claim's spec, immutable ConfigMaps and Secrets) refused with the
server's 422 wording, through apply, dry run, PUT and merge patch; Service cluster IPs
allocated, kept and never changed; CRD status.storedVersions, the status subresource and a
storage-version migration's rewrite; deletion propagation (Orphan, Foreground, a Job's Orphan
default with its Warning, DeleteOptions validation); a workload scaled to zero; field
selectors on lists (metadata, Events' and Pods' fields, each kind's wording for an unknown
field, malformed terms); a pod log's container choice, option checks, 204 for a pod no node
runs and `get pods/log` authorization; the scheduler's message for a pod whose requests or
untolerated taints no node takes.

Emulator-only (no real variant): admission webhooks refusing writes while their Service has
no ready endpoint, and cert-manager's CA injector (no webhook server can run without
containers, and this control plane never calls out to one: tests/controlplane/_webhookless);
Kubeflow's profile controller (not part of Kubernetes); failing workloads' pods and Events
(ImagePullBackOff and the like: kwok always runs pods); what a kubelet answers for a pod's
log (kwok keeps none); Jobs' pods and logs (`jobs`), fault injection, the request log and
the `history` log (test controls of the emulator, not server behaviour).
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from kfops.cluster import Cluster
from kfops.cluster._compare import applied_paths
from kfops.errors import ClusterError, Forbidden, ObjectConflict
from tests.conftest import NO_BACKOFF
from tests.controlplane import GPU_NODE, GPU_TAINT, PLAIN_NODES, ControlPlane
from tests.emulator import RunningEmulator
from tests.helpers.rest import Rest

T = TypeVar("T")
MERGE = {"Content-Type": "application/merge-patch+json"}
CRD_API = "apiextensions.k8s.io/v1"
NOBODY = "conformance-nobody"
"""A user no RBAC binding names (the real server's 403s are for it)."""


@dataclass
class Server:
    """One API server, emulated or real, as every test here sees it."""

    name: str
    cluster: Cluster
    rest: Rest
    refuse: Callable[[list[tuple[str, str, str]]], Path]
    """A kubeconfig refused these (verb, plural, namespace) requests."""
    _closing: list[Rest] = field(default_factory=list)

    def wait(self, check: Callable[[], T | None], what: str, seconds: float = 60) -> T:
        """Poll `check` until it answers something true; that answer."""
        deadline = time.monotonic() + seconds
        while True:
            answer = check()
            if answer:
                return answer
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name}: {what} not within {seconds} s", pytrace=False)
            time.sleep(0.05)

    def namespace(self, prefix: str) -> str:
        """A new namespace of this test's own."""
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        assert self.rest.apply(namespace(name)).status_code == 201
        return name

    def client_of(self, kubeconfig: Path) -> Rest:
        """A Rest client of another kubeconfig (closed with the server's)."""
        rest = Rest.from_kubeconfig(kubeconfig)
        self._closing.append(rest)
        return rest

    def close(self) -> None:
        for rest in self._closing:
            rest.close()
        self.rest.close()
        self.cluster.close()


@pytest.fixture(params=["emulator", "real"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """The emulator (a fresh one) or the module's real control plane."""
    if request.param == "emulator":
        emulator: RunningEmulator = request.getfixturevalue("emulator")
        kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")

        def refuse(denials: list[tuple[str, str, str]]) -> Path:
            for verb, plural, where in denials:
                emulator.state.deny(verb, plural, where)
            return kubeconfig
    else:
        plane: ControlPlane = request.getfixturevalue("control_plane")
        kubeconfig = plane.kubeconfig

        def refuse(denials: list[tuple[str, str, str]]) -> Path:
            return plane.kubeconfig_for(NOBODY)  # RBAC denies it everything
    found = Server(request.param, Cluster.connect(kubeconfig, retry=NO_BACKOFF),
                   Rest.from_kubeconfig(kubeconfig), refuse)
    yield found
    found.close()


# ---- objects -------------------------------------------------------------------------------

def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def config_map(name: str, where: str, **fields: Any) -> dict[str, Any]:
    metadata = {"name": name, "namespace": where, **fields.pop("metadata", {})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, **fields}


def deployment(name: str, where: str, **pod: Any) -> dict[str, Any]:
    container = {"name": "main", "image": "example.com/app:1", **pod.pop("container", {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": where},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [container], **pod}}}}


def crd(group: str, kind: str, versions: tuple[str, ...] = ("v1",)) -> dict[str, Any]:
    """A namespaced CRD that keeps any field; the first version is stored, conversion None."""
    plural = f"{kind.lower()}s"
    return {"apiVersion": CRD_API, "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                               "listKind": f"{kind}List"},
                     "conversion": {"strategy": "None"},
                     "versions": [{"name": version, "served": True, "storage": i == 0,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}
                                  for i, version in enumerate(versions)]}}


def unique_group() -> str:
    return f"c{uuid.uuid4().hex[:6]}.conformance.example.com"


def served(server: Server, definition: dict[str, Any]) -> None:
    """Apply a CRD and wait until every version of it is served."""
    assert server.rest.apply(definition).status_code == 201
    spec = definition["spec"]
    for version in spec["versions"]:
        path = f"/apis/{spec['group']}/{version['name']}"

        def lists(path: str = path) -> bool:
            return _lists(server.rest.client.get(path), spec["names"]["plural"])

        server.wait(lists, f"{spec['names']['plural']} served in {version['name']}")


def _lists(answer: httpx.Response, plural: str) -> bool:
    return answer.status_code == 200 and plural in {r["name"] for r in
                                                    answer.json().get("resources", [])}


def _ok(answer: httpx.Response) -> dict[str, Any] | None:
    return body(answer) if answer.status_code == 200 else None


def _refused(answer: httpx.Response) -> dict[str, Any] | None:
    return body(answer) if answer.status_code == 403 else None


def gone(server: Server, obj: dict[str, Any]) -> bool:
    return server.rest.get(obj).status_code == 404


def body(answer: httpx.Response) -> dict[str, Any]:
    data: dict[str, Any] = answer.json()
    return data


def merge_patch(server: Server, obj: dict[str, Any], patch: dict[str, Any]) -> httpx.Response:
    return server.rest.client.patch(server.rest.path(obj), content=json.dumps(patch),
                                    headers=MERGE)


def managers(obj: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m["manager"], m["operation"]) for m in obj["metadata"].get("managedFields") or []}


# ---- versions and conflicts ----------------------------------------------------------------

def test_writes_set_uid_resource_version_and_generation(server: Server) -> None:
    where = server.namespace("versions")
    created = body(server.rest.apply(config_map("a", where)))
    again = body(server.rest.apply(config_map("a", where)))
    changed = body(server.rest.apply(config_map("a", where, data={"k": "v"})))
    assert created["metadata"]["uid"] == changed["metadata"]["uid"]
    # A write that changes nothing keeps the version; a change moves it on.
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert changed["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    assert "generation" not in changed["metadata"]  # ConfigMaps have no desired state

    web = deployment("web", where)
    generations = [body(server.rest.apply(web))["metadata"]["generation"]]
    web["metadata"]["labels"] = {"tier": "front"}
    generations.append(body(server.rest.apply(web))["metadata"]["generation"])
    web["spec"]["replicas"] = 2
    generations.append(body(server.rest.apply(web))["metadata"]["generation"])
    web["metadata"]["annotations"] = {"note": "x"}  # a Deployment copies them to its pods
    generations.append(body(server.rest.apply(web))["metadata"]["generation"])
    assert generations == [1, 1, 2, 3]

    definition = crd(unique_group(), "Gadget")
    served(server, definition)
    gadget: dict[str, Any] = {"apiVersion": f"{definition['spec']['group']}/v1", "kind": "Gadget",
              "metadata": {"name": "g", "namespace": where}, "spec": {"size": 1}}
    generations = [body(server.rest.apply(gadget))["metadata"]["generation"]]
    gadget["metadata"]["annotations"] = {"note": "x"}
    generations.append(body(server.rest.apply(gadget))["metadata"]["generation"])
    gadget["spec"]["size"] = 2
    generations.append(body(server.rest.apply(gadget))["metadata"]["generation"])
    assert generations == [1, 1, 2]


def test_a_stale_resource_version_is_a_conflict(server: Server) -> None:
    where = server.namespace("stale")
    read = body(server.rest.apply(config_map("a", where, data={"k": "1"})))
    server.rest.apply(config_map("a", where, data={"k": "2"}))

    put = server.rest.client.put(server.rest.path(read), json={**read, "data": {"k": "3"}})
    metadata = {k: v for k, v in read["metadata"].items() if k != "managedFields"}
    applied = server.rest.apply({**read, "metadata": metadata, "data": {"k": "3"}})

    assert put.status_code == applied.status_code == 409
    assert body(put)["reason"] == body(applied)["reason"] == "Conflict"
    assert "the object has been modified" in body(put)["message"]
    with pytest.raises(ObjectConflict, match="re-run"):
        server.cluster.replace({**read, "data": {"k": "3"}})
    assert body(server.rest.get(read))["data"] == {"k": "2"}


def test_apply_conflicts_with_another_manager_unless_forced(server: Server) -> None:
    where = server.namespace("owners")
    assert server.rest.apply(config_map("shared", where, data={"k": "one"}),
                             manager="helm").status_code == 201

    refused = server.rest.apply(config_map("shared", where, data={"k": "two"}),
                                manager="kfops", force=False)
    assert refused.status_code == 409
    status = body(refused)
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "helm": .data.k'
    assert [(c["reason"], c["field"]) for c in status["details"]["causes"]] == [
        ("FieldManagerConflict", ".data.k")]

    forced = server.rest.apply(config_map("shared", where, data={"k": "two"}), manager="kfops")
    assert forced.status_code == 200 and body(forced)["data"] == {"k": "two"}
    # helm's only field went to kfops: helm owns nothing, and so has no entry
    assert managers(body(forced)) == {("kfops", "Apply")}
    # the same value is no conflict: both own it
    same = server.rest.apply(config_map("shared", where, data={"k": "two"}), manager="other",
                             force=False)
    assert same.status_code == 200
    assert managers(body(same)) == {("kfops", "Apply"), ("other", "Apply")}


def test_fields_a_manager_stops_applying_are_removed(server: Server) -> None:
    where = server.namespace("removed")
    server.rest.apply(config_map("c", where, data={"a": "1", "b": "2", "c": "3"}), manager="one")
    server.rest.apply(config_map("c", where, data={"c": "3"}), manager="two")

    result = body(server.rest.apply(config_map("c", where, data={"a": "1"}), manager="one"))

    # b was one's alone: removed; c is two's too: kept
    assert result["data"] == {"a": "1", "c": "3"}


def test_managed_fields_report_apply_and_update_owners(server: Server) -> None:
    where = server.namespace("managed")
    sent = config_map("m", where, metadata={"labels": {"l": "1"}}, data={"a": "1"})
    created = server.rest.create(sent, manager="kfops")
    assert created.status_code == 201
    assert managers(body(created)) == {("kfops", "Update")}  # a POST is an Update operation

    applied = body(server.rest.apply({**sent, "data": {"a": "1", "b": "2"}}, manager="kfops"))

    # applying under the same name is another manager: the Update entry stays
    assert managers(applied) == {("kfops", "Apply"), ("kfops", "Update")}
    assert {m["fieldsType"] for m in applied["metadata"]["managedFields"]} == {"FieldsV1"}
    # what kfops reads: the fields its Apply entry owns (the name is nobody's field)
    assert set(applied_paths(applied, "kfops")) == {
        ("data", "a"), ("data", "b"), ("metadata", "labels", "l")}
    bare = body(server.rest.apply(config_map("bare", where)))
    assert "managedFields" not in bare["metadata"]  # no field set: no entry at all
    # an apply names no owners itself
    carrying = server.rest.apply({**bare, "metadata": {**bare["metadata"], "managedFields": []}})
    assert (carrying.status_code, body(carrying)["message"]) == (
        400, "metadata.managedFields must be nil")


def test_secret_string_data_is_stored_as_data(server: Server) -> None:
    where = server.namespace("secret")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": where},
              "stringData": {"p": "hello"}, "data": {"q": "MQ=="}}

    server.rest.apply(secret)

    stored = body(server.rest.get(secret))
    assert stored["data"] == {"p": "aGVsbG8=", "q": "MQ=="}
    assert "stringData" not in stored


def test_empty_omitempty_maps_are_not_stored(server: Server) -> None:
    where = server.namespace("empty")
    empty: dict[str, dict[str, str]] = {"labels": {}, "annotations": {}}
    stored_map = body(server.rest.apply(config_map("e", where, metadata=empty, data={},
                                                   binaryData={})))
    stored_secret = body(server.rest.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "e", "namespace": where, **empty}, "data": {}}))
    definition = crd(unique_group(), "Holder")
    served(server, definition)
    stored_custom = body(server.rest.apply({
        "apiVersion": f"{definition['spec']['group']}/v1", "kind": "Holder",
        "metadata": {"name": "e", "namespace": where, **empty}, "spec": {"map": {}}}))

    for stored in (stored_map, stored_secret, stored_custom):
        assert not {"labels", "annotations"} & set(stored["metadata"]), stored["kind"]
    assert not {"data", "binaryData"} & set(stored_map)
    assert "data" not in stored_secret
    # a custom resource is JSON, not a Go type: its own empty map stays (its metadata does not)
    assert stored_custom["spec"] == {"map": {}}


def test_a_dry_run_returns_the_object_without_storing_it(server: Server) -> None:
    where = server.namespace("dry")
    answer = server.rest.apply(config_map("dry", where, data={"k": "v"}), dry_run=True)
    assert answer.status_code == 201 and body(answer)["data"] == {"k": "v"}
    assert gone(server, config_map("dry", where))

    server.rest.apply(config_map("kept", where, data={"k": "1"}))
    result = server.cluster.apply(config_map("kept", where, data={"k": "2"}), dry_run=True)
    assert result["data"] == {"k": "2"}
    assert body(server.rest.get(config_map("kept", where)))["data"] == {"k": "1"}


def test_a_crd_is_served_once_established(server: Server) -> None:
    definition = crd(unique_group(), "Widget")
    assert server.rest.apply(definition).status_code == 201

    def established() -> bool:
        live = server.cluster.get(CRD_API, "CustomResourceDefinition",
                                  definition["metadata"]["name"]) or {}
        return any(c["type"] == "Established" and c["status"] == "True"
                   for c in (live.get("status") or {}).get("conditions") or [])

    server.wait(established, "Established")
    group = definition["spec"]["group"]
    server.wait(lambda: _lists(server.rest.client.get(f"/apis/{group}/v1"), "widgets"),
                "widgets in discovery")
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget",
              "metadata": {"name": "w", "namespace": "default"}}
    assert server.rest.apply(widget).status_code == 201


def test_names_are_dns_subdomains_but_rbac_names_only_refuse_slash_and_percent(
        server: Server) -> None:
    where = server.namespace("names")
    bad = server.rest.apply(config_map("Bad_Name", where))
    assert bad.status_code == 422 and body(bad)["reason"] == "Invalid"
    assert "a lowercase RFC 1123 subdomain must consist of" in body(bad)["message"]
    assert server.rest.create(config_map("a/b", where)).status_code == 422

    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": f"Odd:Name_{uuid.uuid4().hex[:6]}"}}
    assert server.rest.apply(role).status_code == 201
    for name, char in (("a%b", "%"), ("a/b", "/")):
        refused = server.rest.create({**role, "metadata": {"name": name}})
        assert refused.status_code == 422, name
        assert f"may not contain '{char}'" in body(refused)["message"]


# ---- namespaces and deletion ---------------------------------------------------------------

def test_namespaced_objects_need_their_namespace(server: Server) -> None:
    missing = config_map("a", f"missing-{uuid.uuid4().hex[:6]}")
    for answer in (server.rest.apply(missing), server.rest.create(missing)):
        assert answer.status_code == 404
        assert body(answer)["reason"] == "NotFound"
        assert body(answer)["message"] == \
            f'namespaces "{missing["metadata"]["namespace"]}" not found'


def test_a_terminating_namespace_takes_no_new_object(server: Server) -> None:
    where = server.namespace("leaving")
    # the finalizer keeps the namespace terminating for as long as this test needs
    held = config_map("held", where, metadata={"finalizers": ["example.com/hold"]})
    server.rest.apply(held)
    assert server.rest.delete(namespace(where)).status_code == 200

    # The real admission plugin reads namespaces from an informer: a creation sent before it
    # saw the deletion still passes, so each try has a name of its own.
    tries = (f"new-{i}" for i in range(10**6))
    refused = server.wait(lambda: _refused(server.rest.apply(config_map(next(tries), where))),
                          "a creation refused")
    assert refused["reason"] == "Forbidden"
    assert re.fullmatch(rf'configmaps "new-\d+" is forbidden: unable to create new content in '
                        rf"namespace {where} because it is being terminated",
                        refused["message"])
    assert [c["reason"] for c in refused["details"]["causes"]] == ["NamespaceTerminating"]
    with pytest.raises(ClusterError, match="its namespace is being deleted") as raised:
        server.cluster.apply(config_map("new", where))
    assert not isinstance(raised.value, Forbidden)
    # what is in it may still change: the namespace lifecycle stops creations only
    assert server.rest.apply({**held, "data": {"k": "v"}}).status_code == 200
    merge_patch(server, held, {"metadata": {"finalizers": None}})


def test_deletion_cascades_to_dependents(server: Server) -> None:
    where = server.namespace("cascade")
    owner = body(server.rest.apply(config_map("owner", where)))
    dependent = config_map("dependent", where, metadata={"ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
        "uid": owner["metadata"]["uid"]}]})
    server.rest.apply(dependent)

    assert server.rest.delete(owner).status_code == 200

    server.wait(lambda: gone(server, dependent), "the dependent deleted")  # garbage collector


def test_deleting_a_namespace_deletes_its_contents_and_waits_for_finalizers(
        server: Server) -> None:
    where = server.namespace("contents")
    plain = config_map("plain", where)
    held = config_map("held", where, metadata={"finalizers": ["example.com/hold"]})
    server.rest.apply(plain)
    server.rest.apply(held)

    assert server.rest.delete(namespace(where)).status_code == 200

    server.wait(lambda: gone(server, plain), "the namespace's contents deleted")
    marked = server.wait(lambda: "deletionTimestamp" in body(server.rest.get(held))["metadata"],
                         "the held object marked for deletion")
    assert marked
    live = body(server.rest.get(namespace(where)))
    assert "deletionTimestamp" in live["metadata"]  # terminating while anything is left
    merge_patch(server, held, {"metadata": {"finalizers": None}})
    server.wait(lambda: gone(server, held), "the held object deleted")
    server.wait(lambda: gone(server, namespace(where)), "the namespace deleted")


def test_deleting_a_crd_deletes_its_objects(server: Server) -> None:
    definition = crd(unique_group(), "Sprocket")
    served(server, definition)
    sprocket = {"apiVersion": f"{definition['spec']['group']}/v1", "kind": "Sprocket",
                "metadata": {"name": "s", "namespace": "default"}}
    assert server.rest.apply(sprocket).status_code == 201

    assert server.rest.delete(definition).status_code == 200
    server.wait(lambda: gone(server, definition), "the CRD deleted")

    # defined again, it serves no object from before (once its storage is ready: until
    # then a real server answers 429)
    served(server, definition)
    listed = server.wait(lambda: _ok(server.rest.client.get(
        server.rest.path(sprocket, named=False))), "the Sprockets listed")
    assert listed["items"] == []


def test_discovery_lists_served_kinds_and_drops_a_deleted_crd(server: Server) -> None:
    definition = crd(unique_group(), "Cog")
    group = definition["spec"]["group"]
    served(server, definition)
    kinds = {(k.group, k.kind): k for k in server.cluster.served_kinds()}
    assert kinds[("", "ConfigMap")].namespaced and not kinds[("", "Namespace")].namespaced
    assert kinds[("apps", "Deployment")].api_version == "apps/v1"
    assert kinds[(group, "Cog")].namespaced

    server.rest.delete(definition)

    server.wait(lambda: (group, "Cog") not in {(k.group, k.kind)
                                               for k in server.cluster.served_kinds()},
                "Cog gone from discovery")
    groups = {g["name"] for g in body(server.rest.client.get("/apis"))["groups"]}
    assert group not in groups


# ---- controllers ---------------------------------------------------------------------------

def test_deployments_become_available_and_endpoint_slices_belong_to_their_service(
        server: Server) -> None:
    where = server.namespace("web")
    service = body(server.rest.apply({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": where},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}))
    server.rest.apply(deployment("web", where))

    def available() -> bool:
        status = body(server.rest.get(deployment("web", where))).get("status") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        return status.get("availableReplicas") == 1 and conditions.get("Available") == "True"

    server.wait(available, "the Deployment available")

    def ready_slices() -> list[dict[str, Any]]:
        slices = server.cluster.list("discovery.k8s.io/v1", "EndpointSlice", where,
                                     {"kubernetes.io/service-name": "web"})
        ready = any(e.get("conditions", {}).get("ready") for s in slices
                    for e in s.get("endpoints") or [])
        return slices if ready else []

    [endpoints] = server.wait(ready_slices, "a ready endpoint")
    assert [(r["kind"], r["name"], r["uid"], r["controller"])
            for r in endpoints["metadata"]["ownerReferences"]] == [
        ("Service", "web", service["metadata"]["uid"], True)]
    assert endpoints["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
        "endpointslice-controller.k8s.io"


def test_a_new_namespace_gets_its_service_account_root_ca_and_name_label(
        server: Server) -> None:
    where = server.namespace("fresh")

    accounts = server.wait(lambda: server.cluster.list("v1", "ServiceAccount", where),
                           "the default ServiceAccount")
    maps = server.wait(lambda: server.cluster.list("v1", "ConfigMap", where), "kube-root-ca.crt")

    assert [a["metadata"]["name"] for a in accounts] == ["default"]
    [root_ca] = maps
    assert root_ca["metadata"]["name"] == "kube-root-ca.crt"
    assert root_ca["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    assert managers(root_ca) == {("kube-controller-manager", "Update")}
    live = body(server.rest.get(namespace(where)))
    assert live["metadata"]["labels"] == {"kubernetes.io/metadata.name": where}


# ---- leases --------------------------------------------------------------------------------

def lease(name: str, where: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": where}, "spec": spec}


def test_leases_are_validated_as_the_api_server_does(server: Server) -> None:
    where = server.namespace("leases")
    invalid = server.rest.create(lease("a", where, holderIdentity="x", leaseDurationSeconds=0,
                                       leaseTransitions=-1))
    assert (invalid.status_code, body(invalid)["reason"]) == (422, "Invalid")
    assert body(invalid)["message"] == (
        'Lease.coordination.k8s.io "a" is invalid: [spec.leaseDurationSeconds: Invalid value: '
        "0: must be greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater "
        "than or equal to 0]")
    # MicroTime: RFC 3339 with exactly six digits of the second
    for when in ("yesterday", "2025-01-02T03:04:05Z", "2025-01-02T03:04:05.123456789Z"):
        answer = server.rest.create(lease("a", where, holderIdentity="x", renewTime=when))
        assert (answer.status_code, body(answer)["reason"]) == (400, "BadRequest"), when
    valid = lease("a", where, holderIdentity="x", leaseDurationSeconds=15,
                  acquireTime="2025-01-02T03:04:05.123456Z",
                  renewTime="2025-01-02T03:04:05.123456+02:00")
    assert server.rest.create(valid).status_code == 201
    # the same bad time answers otherwise through a merge patch and an apply
    assert merge_patch(server, valid, {"spec": {"renewTime": "nope"}}).status_code == 422
    assert server.rest.apply(lease("a", where, renewTime="nope")).status_code == 500


def test_a_lease_never_expires_on_its_own(server: Server) -> None:
    # Only holders and candidates compare renewTime with their clock; the server does not.
    where = server.namespace("expiry")
    stale = lease("b", where, holderIdentity="gone", leaseDurationSeconds=1,
                  renewTime="2000-01-01T00:00:00.000000Z")
    written = body(server.rest.create(stale))
    time.sleep(1.1)  # past its duration once more
    kept = body(server.rest.get(stale))
    assert kept["spec"]["holderIdentity"] == "gone"
    assert kept["metadata"]["resourceVersion"] == written["metadata"]["resourceVersion"]


# ---- authorization and unserved URLs -------------------------------------------------------

def test_a_denied_verb_is_forbidden(server: Server) -> None:
    where = server.namespace("denied")
    server.rest.apply(config_map("secret-plans", where))
    kubeconfig = server.refuse([("list", "configmaps", where), ("get", "configmaps", where)])
    refused = server.client_of(kubeconfig)

    listed = refused.client.get(f"/api/v1/namespaces/{where}/configmaps")
    named = refused.get(config_map("secret-plans", where))

    assert (listed.status_code, body(listed)["reason"]) == (403, "Forbidden")
    user = r'User "[^"]+"'
    assert re.fullmatch(rf'configmaps is forbidden: {user} cannot list resource "configmaps" '
                        rf'in API group "" in the namespace "{where}"', body(listed)["message"])
    assert named.status_code == 403
    assert re.fullmatch(rf'configmaps "secret-plans" is forbidden: {user} cannot get resource '
                        rf'"configmaps" in API group "" in the namespace "{where}"',
                        body(named)["message"])
    with Cluster.connect(kubeconfig, retry=NO_BACKOFF) as cluster, \
            pytest.raises(Forbidden, match="lack this permission"):
        cluster.get("v1", "ConfigMap", "secret-plans", where)


def test_a_group_nothing_serves_answers_a_plain_404(server: Server) -> None:
    plain = server.rest.client.get("/apis/nothing.conformance.example.com/v1/namespaces/"
                                   "default/things/x")
    assert plain.status_code == 404
    assert plain.headers["content-type"].startswith("text/plain")
    assert plain.text == "404 page not found\n"
    # a built-in group answers a Status, even for a version or resource it lacks
    for path in ("/apis/apps/v9/namespaces/default/deployments/x",
                 "/api/v1/namespaces/default/nothings/x"):
        status = server.rest.client.get(path)
        assert status.status_code == 404, path
        assert (body(status)["kind"], body(status)["reason"]) == ("Status", "NotFound")
        assert body(status)["message"] == "the server could not find the requested resource"


def test_a_multi_version_crd_answers_in_the_version_asked_for(server: Server) -> None:
    where = server.namespace("versions")
    definition = crd(unique_group(), "Gizmo", versions=("v1", "v2"))
    group = definition["spec"]["group"]
    served(server, definition)
    server.rest.apply({"apiVersion": f"{group}/v1", "kind": "Gizmo",
                       "metadata": {"name": "g", "namespace": where}, "spec": {"size": 1}})

    base = f"/apis/{group}/{{}}/namespaces/{where}/gizmos"
    one = body(server.rest.client.get(base.format("v2") + "/g"))
    listed = body(server.rest.client.get(base.format("v2")))
    first = body(server.rest.client.get(base.format("v1") + "/g"))

    assert one["apiVersion"] == f"{group}/v2" and one["spec"] == {"size": 1}
    assert (listed["apiVersion"], listed["kind"]) == (f"{group}/v2", "GizmoList")
    assert [i["apiVersion"] for i in listed["items"]] == [f"{group}/v2"]
    assert first["apiVersion"] == f"{group}/v1"
    unserved = server.rest.client.get(base.format("v3") + "/g")
    assert (unserved.status_code, unserved.text) == (404, "404 page not found\n")


# ---- what Go types do to built-in objects --------------------------------------------------

QUANTITIES = [
    # (sent, stored), as kube-apiserver v1.35.4 stores a ResourceQuota's spec.hard
    ("2000m", "2"), ("1024Mi", "1Gi"), ("0.5", "500m"), ("1500m", "1500m"), ("1000", "1k"),
    ("1e3", "1e3"), ("1E3", "1E3"), ("1k", "1k"), ("1536Mi", "1536Mi"), ("0.5Gi", "512Mi"),
    ("100Mi", "100Mi"), ("1023Ki", "1023Ki"), ("512", "512"), ("2048", "2048"), ("0", "0"),
    ("0Gi", "0"), ("0.1n", "1m"), ("1.5", "1500m"), ("12e6", "12e6"), ("1e4", "10e3"),
    ("123456789", "123456789"), ("1.0001", "1001m"), ("1000Ki", "1000Ki"),
    ("0.000001", "1m"), ("1u", "1m"), ("5n", "1m"), ("1e-3", "1e-3"), ("2e-2", "20e-3"),
    ("1000000k", "1G"), ("1048576", "1048576"), ("1.5Gi", "1536Mi"), ("1000000000m", "1M"),
    ("3.5e3", "3500"), ("0.25Ki", "256"), ("+1k", "+1k"), ("0100Mi", "0100Mi"), (2, "2"),
    (0.5, "500m"),
]


def test_quantities_are_stored_in_canonical_form(server: Server) -> None:
    where = server.namespace("quantities")
    for i, (sent, _) in enumerate(QUANTITIES):
        quota = {"apiVersion": "v1", "kind": "ResourceQuota",
                 "metadata": {"name": f"q{i}", "namespace": where}, "spec": {"hard": {"cpu": sent}}}
        assert server.rest.apply(quota).status_code == 201, sent
    quotas = server.cluster.list("v1", "ResourceQuota", where)
    stored = {int(q["metadata"]["name"][1:]): q["spec"]["hard"]["cpu"] for q in quotas}
    assert [(sent, stored[i]) for i, (sent, _) in enumerate(QUANTITIES)] == QUANTITIES

    # elsewhere (a separate namespace: its pods would count against the quotas)
    elsewhere = server.namespace("resources")
    pod = {"container": {"resources": {"requests": {"cpu": "2000m", "memory": "1024Mi"},
                                       "limits": {"cpu": "3.0001", "memory": "1.5Gi"}}},
           "volumes": [{"name": "a", "emptyDir": {"sizeLimit": "1024Mi"}},
                       {"name": "b", "emptyDir": {"sizeLimit": "1u"}}]}
    spec = body(server.rest.apply(deployment("sized", elsewhere, **pod)))["spec"]["template"][
        "spec"]
    assert spec["containers"][0]["resources"] == {
        "requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "3001m", "memory": "1536Mi"}}
    # a plain Quantity is not rounded to 1m as a ResourceList is
    assert [v["emptyDir"]["sizeLimit"] for v in spec["volumes"]] == ["1Gi", "1u"]
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "data", "namespace": elsewhere},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1024Mi"}}}}
    assert body(server.rest.apply(claim))["spec"]["resources"] == {"requests": {"storage": "1Gi"}}


def test_zero_values_of_omitempty_fields_are_not_stored(server: Server) -> None:
    where = server.namespace("zeroes")
    pod = {"hostNetwork": False, "serviceAccountName": "", "priorityClassName": "",
           "volumes": [{"name": "v", "emptyDir": {"medium": ""}}],
           "container": {"workingDir": "", "tty": False, "stdin": False,
                         "env": [{"name": "EMPTY", "value": ""}, {"name": "SET", "value": "x"}],
                         "ports": [{"containerPort": 80, "hostPort": 0, "name": ""}],
                         "volumeMounts": [{"name": "v", "mountPath": "/v", "readOnly": False,
                                           "subPath": ""}]}}

    spec = body(server.rest.apply(deployment("zeroes", where, **pod)))["spec"]["template"][
        "spec"]

    assert not {"hostNetwork", "serviceAccountName", "priorityClassName"} & set(spec)
    assert spec["volumes"][0]["emptyDir"] == {}
    [container] = spec["containers"]
    assert not {"workingDir", "tty", "stdin"} & set(container)
    assert container["env"] == [{"name": "EMPTY"}, {"name": "SET", "value": "x"}]
    assert not {"hostPort", "name"} & set(container["ports"][0])
    assert container["volumeMounts"] == [{"name": "v", "mountPath": "/v"}]


def test_listed_items_carry_their_kind_only_for_custom_resources(server: Server) -> None:
    """A list of a built-in kind gives apiVersion and kind once, on the list; its items carry
    none (typed objects drop TypeMeta). A custom resource's items keep theirs."""
    config = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": f"l{uuid.uuid4().hex[:6]}", "namespace": "default"}}
    assert server.rest.apply(config).status_code == 201
    listed = body(server.rest.client.get("/api/v1/namespaces/default/configmaps"))
    assert (listed["apiVersion"], listed["kind"]) == ("v1", "ConfigMapList")
    assert listed["items"]
    assert all("kind" not in i and "apiVersion" not in i for i in listed["items"])
    definition = crd(unique_group(), "Widget")
    served(server, definition)
    group = definition["spec"]["group"]
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget",
              "metadata": {"name": "w", "namespace": "default"}}
    assert server.rest.apply(widget).status_code == 201
    items = body(server.rest.client.get(f"/apis/{group}/v1/namespaces/default/widgets"))["items"]
    assert [(i["apiVersion"], i["kind"]) for i in items] == [(f"{group}/v1", "Widget")]


# ---- updates against the old object --------------------------------------------------------

def invalid(answer: httpx.Response) -> tuple[str, list[tuple[str, str, str]]]:
    """A 422's message and its causes (reason, field, message)."""
    assert answer.status_code == 422, answer.text
    status = body(answer)
    assert status["reason"] == "Invalid"
    return status["message"], [(c["reason"], c["field"], c["message"])
                               for c in status["details"]["causes"]]


def put(server: Server, obj: dict[str, Any], change: Callable[[dict[str, Any]], None],
        ) -> httpx.Response:
    """PUT the live object with `change` made to it (no resourceVersion: no precondition)."""
    live = body(server.rest.get(obj))
    live["metadata"] = {k: v for k, v in live["metadata"].items()
                        if k not in ("resourceVersion", "managedFields")}
    change(live)
    return server.rest.client.put(server.rest.path(obj), json=live)


SELECTOR_MOVED = 'Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable'


def test_a_workload_selector_may_not_change(server: Server) -> None:
    where = server.namespace("selector")
    for kind in ("Deployment", "DaemonSet"):
        web = deployment("web", where)
        web["kind"] = kind
        if kind == "DaemonSet":
            del web["spec"]["replicas"]
        assert server.rest.apply(web).status_code == 201
        moved = json.loads(json.dumps(web))
        moved["spec"]["selector"]["matchLabels"]["tier"] = "x"
        moved["spec"]["template"]["metadata"]["labels"]["tier"] = "x"

        def relabel(obj: dict[str, Any], moved: dict[str, Any] = moved) -> None:
            obj["spec"]["selector"] = moved["spec"]["selector"]
            obj["spec"]["template"]["metadata"]["labels"] = moved["spec"]["selector"][
                "matchLabels"]

        # server-side apply (a dry run too: plan finds it so), PUT and merge patch alike
        for answer in (server.rest.apply(moved), server.rest.apply(moved, dry_run=True),
                       put(server, web, relabel),
                       merge_patch(server, web, {"spec": {
                           "selector": moved["spec"]["selector"],
                           "template": {"metadata": moved["spec"]["template"]["metadata"]}}})):
            assert invalid(answer) == (
                f'{kind}.apps "web" is invalid: spec.selector: {SELECTOR_MOVED}',
                [("FieldValueInvalid", "spec.selector", SELECTOR_MOVED)]), kind
            assert body(answer)["details"]["group"] == "apps"
        live = body(server.rest.get(web))
        assert live["spec"]["selector"] == {"matchLabels": {"app": "web"}}


STATEFULSET_FORBIDDEN = (
    "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
    "'template', 'updateStrategy', 'revisionHistoryLimit', "
    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")


def stateful_set(name: str, where: str, replicas: int = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": where},
            "spec": {"replicas": replicas, "serviceName": name,
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main",
                                                           "image": "example.com/db:1"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}}]}}


def test_a_stateful_set_spec_may_change_only_in_the_listed_fields(server: Server) -> None:
    where = server.namespace("sts")
    db = stateful_set("db", where)
    assert server.rest.apply(db).status_code == 201
    renamed = json.loads(json.dumps(db))
    renamed["spec"]["serviceName"] = "db-headless"
    bigger = json.loads(json.dumps(db))
    bigger["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "2Gi"

    for answer in (server.rest.apply(renamed), server.rest.apply(renamed, dry_run=True),
                   server.rest.apply(bigger),
                   merge_patch(server, db, {"spec": {"podManagementPolicy": "Parallel"}})):
        assert invalid(answer) == (
            f'StatefulSet.apps "db" is invalid: spec: {STATEFULSET_FORBIDDEN}',
            [("FieldValueForbidden", "spec", STATEFULSET_FORBIDDEN)])
    allowed = json.loads(json.dumps(db))
    allowed["spec"].update(replicas=2, minReadySeconds=3, revisionHistoryLimit=4)
    allowed["spec"]["template"]["spec"]["containers"][0]["image"] = "example.com/db:2"
    assert server.rest.apply(allowed).status_code == 200


def test_a_job_template_and_completions_may_not_change(server: Server) -> None:
    where = server.namespace("job")
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": where},
           "spec": {"suspend": True, "template": {"spec": {
               "restartPolicy": "Never",
               "containers": [{"name": "main", "image": "example.com/job:1"}]}}}}
    assert server.rest.apply(job).status_code == 201
    newer = json.loads(json.dumps(job))
    newer["spec"]["template"]["spec"]["containers"][0]["image"] = "example.com/job:2"

    message, causes = invalid(server.rest.apply(newer))
    # the value is the server's own rendering of the template: only its ends are compared
    assert message.startswith('Job.batch "j" is invalid: spec.template: Invalid value: {')
    assert message.endswith("}: field is immutable")
    assert "example.com/job:2" in message
    assert [(reason, field) for reason, field, _ in causes] == [
        ("FieldValueInvalid", "spec.template")]
    assert invalid(merge_patch(server, job, {"spec": {"completions": 3}})) == (
        'Job.batch "j" is invalid: spec.completions: Invalid value: 3: field is immutable',
        [("FieldValueInvalid", "spec.completions", "Invalid value: 3: field is immutable")])


def test_a_binding_role_ref_may_not_change(server: Server) -> None:
    where = server.namespace("roleref")
    group = "rbac.authorization.k8s.io"
    binding: dict[str, Any] = {"apiVersion": f"{group}/v1", "kind": "RoleBinding",
               "metadata": {"name": "rb", "namespace": where},
               "roleRef": {"apiGroup": group, "kind": "Role", "name": "one"},
               "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": where}]}
    cluster_wide = {**binding, "kind": "ClusterRoleBinding",
                    "metadata": {"name": f"conformance-{where}"},
                    "roleRef": {"apiGroup": group, "kind": "ClusterRole", "name": "one"}}
    for obj in (binding, cluster_wide):
        assert server.rest.apply(obj).status_code == 201
        name = obj["metadata"]["name"]
        value = f'Invalid value: {{"APIGroup":"{group}","Kind":"ClusterRole","Name":"two"}}: ' \
                "cannot change roleRef"
        moved = {**obj, "roleRef": {"apiGroup": group, "kind": "ClusterRole", "name": "two"}}
        for answer in (server.rest.apply(moved), server.rest.apply(moved, dry_run=True),
                       merge_patch(server, obj, {"roleRef": moved["roleRef"]})):
            assert invalid(answer) == (
                f'{obj["kind"]}.{group} "{name}" is invalid: roleRef: {value}',
                [("FieldValueInvalid", "roleRef", value)])
    server.rest.delete(cluster_wide)


PVC_FORBIDDEN = ("Forbidden: spec is immutable after creation except resources.requests and "
                 "volumeAttributesClassName for bound claims\n")


def test_a_claim_spec_may_not_change(server: Server) -> None:
    where = server.namespace("claim")
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "data", "namespace": where},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}
    assert server.rest.apply(claim).status_code == 201
    shared = json.loads(json.dumps(claim))
    shared["spec"]["accessModes"] = ["ReadWriteMany"]
    # (resources.requests is left alone: whether it may grow depends on when the claim is
    # bound, which this control plane's provisioner decides)
    for answer in (server.rest.apply(shared), server.rest.apply(shared, dry_run=True),
                   merge_patch(server, claim, {"spec": {"storageClassName": "other"}})):
        message, [(reason, field, detail)] = invalid(answer)
        # a diff of the server's own rendering follows the first line
        assert message.startswith(f'PersistentVolumeClaim "data" is invalid: spec: '
                                  f"{PVC_FORBIDDEN}")
        assert (reason, field) == ("FieldValueForbidden", "spec")
        assert detail.startswith(PVC_FORBIDDEN)
        assert "group" not in body(answer)["details"]  # a core kind


IMMUTABLE = "Forbidden: field is immutable when `immutable` is set"


def test_immutable_config_maps_and_secrets_keep_their_data(server: Server) -> None:
    where = server.namespace("immutable")
    frozen = config_map("frozen", where, data={"a": "1"}, immutable=True)
    assert server.rest.apply(frozen).status_code == 201
    assert invalid(server.rest.apply({**frozen, "data": {"a": "2"}})) == (
        f'ConfigMap "frozen" is invalid: data: {IMMUTABLE}',
        [("FieldValueForbidden", "data", IMMUTABLE)])
    assert invalid(merge_patch(server, frozen, {"immutable": False, "binaryData": {"b": "MQ=="}})
                   ) == (
        f'ConfigMap "frozen" is invalid: [immutable: {IMMUTABLE}, binaryData: {IMMUTABLE}]',
        [("FieldValueForbidden", "immutable", IMMUTABLE),
         ("FieldValueForbidden", "binaryData", IMMUTABLE)])
    # metadata may change; and a mutable one may be frozen with a last change
    assert merge_patch(server, frozen, {"metadata": {"labels": {"l": "1"}}}).status_code == 200
    thawed = config_map("thawed", where, data={"a": "1"})
    server.rest.apply(thawed)
    assert server.rest.apply({**thawed, "data": {"a": "2"}, "immutable": True}).status_code == 200

    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "s", "namespace": where}, "data": {"a": "MQ=="},
              "immutable": True}
    assert server.rest.apply(secret).status_code == 201
    for answer in (server.rest.apply({**secret, "data": {"a": "Mg=="}}, dry_run=True),
                   merge_patch(server, secret, {"stringData": {"a": "2"}})):
        assert invalid(answer) == (f'Secret "s" is invalid: data: {IMMUTABLE}',
                                   [("FieldValueForbidden", "data", IMMUTABLE)])
    # a Secret's type never changes, immutable or not
    typed = 'Invalid value: "example.com/other": field is immutable'
    assert invalid(merge_patch(server, secret, {"type": "example.com/other"})) == (
        f'Secret "s" is invalid: type: {typed}', [("FieldValueInvalid", "type", typed)])


# ---- Service cluster IPs -------------------------------------------------------------------

def service(name: str, where: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": where},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}


def test_a_service_cluster_ip_is_allocated_and_may_not_change(server: Server) -> None:
    where = server.namespace("cluster-ip")
    web = body(server.rest.apply(service("web", where)))
    other = body(server.rest.apply(service("other", where)))
    headless = body(server.rest.apply(service("headless", where, clusterIP="None")))
    address = web["spec"]["clusterIP"]
    assert web["spec"]["clusterIPs"] == [address]
    assert ipaddress.ip_address(address) in ipaddress.ip_network("10.96.0.0/12")
    assert other["spec"]["clusterIP"] != address
    assert (headless["spec"]["clusterIP"], headless["spec"]["clusterIPs"]) == ("None", ["None"])
    # left out by an apply, a PUT or a merge patch, it is kept
    assert body(server.rest.apply(service("web", where, ports=[{"port": 81}])))["spec"][
        "clusterIP"] == address

    def forget(obj: dict[str, Any]) -> None:
        del obj["spec"]["clusterIP"], obj["spec"]["clusterIPs"]

    assert body(put(server, web, forget))["spec"]["clusterIPs"] == [address]
    assert body(server.rest.apply(service("headless", where)))["spec"]["clusterIP"] == "None"

    for answer in (server.rest.apply(service("web", where, clusterIP="None")),
                   server.rest.apply(service("web", where, clusterIP="None"), dry_run=True)):
        assert invalid(answer) == (
            'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["None"]: may not '
            "change once set",
            [("FieldValueInvalid", "spec.clusterIPs[0]",
              'Invalid value: ["None"]: may not change once set')])
    moved = invalid(merge_patch(server, headless, {"spec": {"clusterIP": address}}))
    assert moved[0] == (f'Service "headless" is invalid: spec.clusterIPs[0]: Invalid value: '
                        f'["{address}"]: may not change once set')
    taken = f'Invalid value: ["{address}"]: failed to allocate IP {address}: provided IP is ' \
            "already allocated"
    assert invalid(server.rest.apply(service("copy", where, clusterIP=address))) == (
        f'Service "copy" is invalid: spec.clusterIPs: {taken}',
        [("FieldValueInvalid", "spec.clusterIPs", taken)])
    outside = invalid(server.rest.apply(service("far", where, clusterIP="192.168.1.1")))
    assert outside[0].endswith("failed to allocate IP 192.168.1.1: the provided network does "
                               "not match the current range")


# ---- CRD storage versions ------------------------------------------------------------------

def test_stored_versions_record_each_storage_version_until_trimmed(server: Server) -> None:
    where = server.namespace("stored")
    group = unique_group()
    alpha = crd(group, "Gauge", versions=("v1alpha1",))
    served(server, alpha)
    name = alpha["metadata"]["name"]
    status_path = server.rest.path(alpha) + "/status"
    gauge = {"apiVersion": f"{group}/v1alpha1", "kind": "Gauge",
             "metadata": {"name": "g", "namespace": where}, "spec": {"size": 1}}
    assert server.rest.apply(gauge).status_code == 201
    assert body(server.rest.get(alpha))["status"]["storedVersions"] == ["v1alpha1"]

    # v1 becomes the storage version: appended, nothing removed
    both = crd(group, "Gauge", versions=("v1", "v1alpha1"))
    assert server.rest.apply(both).status_code == 200
    server.wait(lambda: _lists(server.rest.client.get(f"/apis/{group}/v1"), "gauges"),
                "gauges served in v1")
    assert body(server.rest.get(alpha))["status"]["storedVersions"] == ["v1alpha1", "v1"]
    only_v1 = crd(group, "Gauge", versions=("v1",))
    missing = ('Invalid value: "v1alpha1": missing from spec.versions; v1alpha1 was previously '
               "a storage version, and must remain in spec.versions until a storage migration "
               "ensures no data remains persisted in v1alpha1 and removes v1alpha1 from "
               "status.storedVersions")
    for answer in (server.rest.apply(only_v1), server.rest.apply(only_v1, dry_run=True)):
        assert invalid(answer) == (
            f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: '
            f"status.storedVersions[0]: {missing}",
            [("FieldValueInvalid", "status.storedVersions[0]", missing)])

    # the migration writes every object back unchanged: stored anew (in v1), a new version
    url = f"/apis/{group}/v1/namespaces/{where}/gauges/g"
    read = body(server.rest.client.get(url))
    rewritten = body(server.rest.client.put(url, json=read))
    assert rewritten["metadata"]["resourceVersion"] != read["metadata"]["resourceVersion"]
    again = body(server.rest.client.put(url, json=rewritten))  # now nothing changes
    assert again["metadata"]["resourceVersion"] == rewritten["metadata"]["resourceVersion"]

    # then storedVersions is trimmed through the status subresource (merge patch or apply)
    trimmed = server.rest.client.patch(status_path, headers=MERGE, content=json.dumps(
        {"status": {"storedVersions": ["v1"]}}))
    assert (trimmed.status_code, body(trimmed)["status"]["storedVersions"]) == (200, ["v1"])
    applied = server.rest.client.patch(
        status_path, params={"fieldManager": "migrator", "force": "true"},
        headers={"Content-Type": "application/apply-patch+yaml"},
        content=json.dumps({"apiVersion": CRD_API, "kind": "CustomResourceDefinition",
                            "metadata": {"name": name}, "status": {"storedVersions": ["v1"]}}))
    assert (applied.status_code, body(applied)["status"]["storedVersions"]) == (200, ["v1"])
    assert body(server.rest.client.get(status_path))["status"]["storedVersions"] == ["v1"]
    assert server.rest.apply(only_v1).status_code == 200

    # a status write takes no spec, and an emptied list is the storage version alone
    live = body(server.rest.client.get(status_path))
    live["spec"]["versions"][0]["served"] = False
    live["status"]["storedVersions"] = []
    emptied = body(server.rest.client.put(status_path, json=live))
    assert (emptied["spec"]["versions"][0]["served"], emptied["status"]["storedVersions"]) == (
        True, ["v1"])


# ---- deletion propagation ------------------------------------------------------------------

def owned_by(name: str, where: str, owner: dict[str, Any], **reference: Any) -> dict[str, Any]:
    return config_map(name, where, metadata={"ownerReferences": [{
        "apiVersion": owner["apiVersion"], "kind": owner["kind"],
        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"], **reference}]})


def test_an_orphaning_delete_keeps_the_dependents(server: Server) -> None:
    where = server.namespace("orphan")
    ways: list[tuple[str, dict[str, Any]]] = [
        ("query", {"params": {"propagationPolicy": "Orphan"}}),
        ("body", {"json": {"kind": "DeleteOptions", "apiVersion": "v1",
                           "propagationPolicy": "Orphan"}}),
        ("legacy", {"json": {"kind": "DeleteOptions", "apiVersion": "v1",
                             "orphanDependents": True}})]
    for how, options in ways:
        owner = body(server.rest.apply(config_map(f"owner-{how}", where)))
        other = body(server.rest.apply(config_map(f"other-{how}", where)))
        dependent = owned_by(f"kept-{how}", where, owner)
        dependent["metadata"]["ownerReferences"].append({
            "apiVersion": "v1", "kind": "ConfigMap", "name": f"other-{how}",
            "uid": other["metadata"]["uid"]})
        written = body(server.rest.apply(dependent))

        answer = server.rest.client.request("DELETE", server.rest.path(owner), **options)

        assert answer.status_code == 200
        assert "orphan" in body(answer)["metadata"]["finalizers"]
        def deleted(owner: dict[str, Any] = owner) -> bool:
            return gone(server, owner)

        server.wait(deleted, f"the owner deleted ({how})")

        def orphaned(dependent: dict[str, Any] = dependent) -> dict[str, Any] | None:
            live = body(server.rest.get(dependent))
            return live if len(live["metadata"]["ownerReferences"]) == 1 else None

        live = server.wait(orphaned, f"the reference removed ({how})")
        assert [r["name"] for r in live["metadata"]["ownerReferences"]] == [f"other-{how}"]
        assert live["metadata"]["resourceVersion"] != written["metadata"]["resourceVersion"]


def test_a_foreground_delete_waits_for_blocking_dependents(server: Server) -> None:
    where = server.namespace("foreground")
    owner = body(server.rest.apply(config_map("owner", where)))
    held = owned_by("held", where, owner, blockOwnerDeletion=True)
    held["metadata"]["finalizers"] = ["example.com/hold"]
    server.rest.apply(held)

    answer = server.rest.delete(owner, propagationPolicy="Foreground")

    assert body(answer)["metadata"]["finalizers"] == ["foregroundDeletion"]
    server.wait(lambda: "deletionTimestamp" in body(server.rest.get(held))["metadata"],
                "the dependent being deleted")
    assert body(server.rest.get(owner))["metadata"]["finalizers"] == ["foregroundDeletion"]
    merge_patch(server, held, {"metadata": {"finalizers": None}})
    server.wait(lambda: gone(server, owner), "the owner deleted after its dependent")


def test_delete_options_are_validated(server: Server) -> None:
    where = server.namespace("options")
    target = config_map("target", where)
    server.rest.apply(target)
    unsupported = ('Unsupported value: "Sideways": supported values: "Foreground", "Background", '
                   '"Orphan", "nil"')
    assert invalid(server.rest.delete(target, propagationPolicy="Sideways")) == (
        f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: {unsupported}',
        [("FieldValueNotSupported", "propagationPolicy", unsupported)])
    both = 'Invalid value: "Background": orphanDependents and deletionPropagation cannot be ' \
           "both set"
    answer = server.rest.client.request("DELETE", server.rest.path(target), json={
        "kind": "DeleteOptions", "apiVersion": "v1", "orphanDependents": True,
        "propagationPolicy": "Background"})
    assert invalid(answer) == (
        f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: {both}',
        [("FieldValueInvalid", "propagationPolicy", both)])
    assert not gone(server, target)


def test_a_job_deleted_without_a_policy_orphans_its_dependents(server: Server) -> None:
    where = server.namespace("job-delete")
    # suspended: no pods of the job controller's; a dependent of the test's own stands for one
    def suspended(name: str) -> dict[str, Any]:
        return {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": where},
                "spec": {"suspend": True, "template": {"spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "x:1"}]}}}}

    job = body(server.rest.apply(suspended("j")))
    dependent = owned_by("part", where, job)
    server.rest.apply(dependent)

    answer = server.rest.client.delete(server.rest.path(job))

    assert answer.headers["warning"] == (
        '299 - "child pods are preserved by default when jobs are deleted; set '
        "propagationPolicy=Background to remove them or set propagationPolicy=Orphan to "
        'suppress this warning"')
    server.wait(lambda: gone(server, job), "the Job deleted")
    server.wait(lambda: "ownerReferences" not in body(server.rest.get(dependent))["metadata"],
                "the dependent orphaned")
    # with Background (what kfops sends for a Job's pods) they go with it
    job = body(server.rest.apply(suspended("k")))
    dependent = owned_by("part-k", where, job)
    server.rest.apply(dependent)
    answer = server.rest.delete(job, propagationPolicy="Background")
    assert "warning" not in answer.headers
    server.wait(lambda: gone(server, dependent), "the dependent deleted")


# ---- scaling to zero -----------------------------------------------------------------------

def test_a_workload_scaled_to_zero_reports_no_counts_and_stays_available(server: Server,
                                                                         ) -> None:
    where = server.namespace("zero")
    web = deployment("web", where)
    server.rest.apply(web)
    db = stateful_set("db", where)
    server.rest.apply(db)

    def settled(obj: dict[str, Any], replicas: int) -> dict[str, Any] | None:
        live = body(server.rest.get(obj))
        status = live.get("status") or {}
        current = status.get("observedGeneration") == live["metadata"]["generation"]
        counted = status.get("availableReplicas" if obj["kind"] == "Deployment"
                             else "readyReplicas", 0) == replicas
        return status if current and counted else None

    server.wait(lambda: settled(web, 1), "the Deployment available")
    server.wait(lambda: settled(db, 1), "the StatefulSet ready")
    for obj in (web, db):
        obj["spec"]["replicas"] = 0
        assert server.rest.apply(obj).status_code == 200

    def drained(obj: dict[str, Any]) -> dict[str, Any] | None:
        # its pod may be reported terminating for a moment after the counts went to zero
        status = settled(obj, 0)
        return status if status and status.get("terminatingReplicas") == 0 else None

    status = server.wait(lambda: drained(web), "the Deployment at zero, its pod gone")
    # every count is omitempty: none is left (terminatingReplicas is always reported);
    # Available stays True
    assert not {"replicas", "readyReplicas", "availableReplicas", "updatedReplicas",
                "unavailableReplicas"} & set(status)
    available = next(c for c in status["conditions"] if c["type"] == "Available")
    assert (available["status"], available["reason"], available["message"]) == (
        "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    sts = server.wait(lambda: settled(db, 0), "the StatefulSet at zero")
    # a StatefulSet keeps `replicas` and `availableReplicas` (not omitempty)
    assert (sts["replicas"], sts["availableReplicas"]) == (0, 0)
    assert not {"readyReplicas", "currentReplicas", "updatedReplicas"} & set(sts)


def test_an_orphaning_delete_of_a_stateful_set_keeps_its_pods_and_claims(
        server: Server, request: pytest.FixtureRequest) -> None:
    if server.name == "emulator":  # its StatefulSet controller is a setting
        emulated: RunningEmulator = request.getfixturevalue("emulator")
        emulated.state.settings.statefulset_pods = True
    where = server.namespace("sts-orphan")
    db = stateful_set("db", where, replicas=2)
    first = body(server.rest.apply(db))
    pod_names, claim_names = ("db-0", "db-1"), ("data-db-0", "data-db-1")

    def listed(plural: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
        items = body(server.rest.client.get(f"/api/v1/namespaces/{where}/{plural}"))["items"]
        found = sorted((i for i in items if i["metadata"]["name"] in names),
                       key=lambda i: i["metadata"]["name"])
        return found if len(found) == len(names) else []

    def owned_by_uid(uid: str) -> list[dict[str, Any]]:
        pods = listed("pods", pod_names)
        return pods if all([r["uid"] for r in p["metadata"].get("ownerReferences") or []
                            if r.get("controller")] == [uid] for p in pods) else []

    server.wait(lambda: owned_by_uid(first["metadata"]["uid"]), "the StatefulSet's pods")
    claims = server.wait(lambda: listed("persistentvolumeclaims", claim_names), "its claims")
    assert all("ownerReferences" not in c["metadata"] for c in claims)  # whenDeleted: Retain

    answer = server.rest.delete(db, propagationPolicy="Orphan")

    assert answer.status_code == 200
    server.wait(lambda: gone(server, db), "the StatefulSet deleted")
    orphans = server.wait(lambda: [p for p in listed("pods", pod_names)
                                   if "ownerReferences" not in p["metadata"]],
                          "the pods orphaned")
    assert len(orphans) == 2
    assert listed("persistentvolumeclaims", claim_names)
    # made anew, the StatefulSet adopts them
    second = body(server.rest.apply(db))
    server.wait(lambda: owned_by_uid(second["metadata"]["uid"]), "the pods adopted")


# ---- field selectors -----------------------------------------------------------------------

def event(name: str, where: str, about: str, reason: str, *, kind: str = "Warning",
          component: str = "kubelet") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": where},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": about,
                               "namespace": where},
            "reason": reason, "message": f"{reason} for {about}", "type": kind,
            "source": {"component": component}, "count": 1,
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z"}


def selected(server: Server, path: str, selector: str) -> list[str] | tuple[int, str]:
    """The names a list with this field selector holds, or (status, message) when refused."""
    answer = server.rest.client.get(path, params={"fieldSelector": selector})
    if answer.status_code != 200:
        return answer.status_code, f'{body(answer)["reason"]}: {body(answer)["message"]}'
    return sorted(i["metadata"]["name"] for i in body(answer)["items"])


def test_lists_take_field_selectors(server: Server) -> None:
    where = server.namespace("fields")
    for name in ("a", "b"):
        assert server.rest.apply(config_map(name, where)).status_code == 201
    for name, about, reason, kind, component in (
            ("e1", "web-1", "BackOff", "Warning", "kubelet"),
            ("e2", "web-1", "Pulled", "Normal", "kubelet"),
            ("e3", "db-0", "FailedScheduling", "Warning", "default-scheduler")):
        made = server.rest.client.post(f"/api/v1/namespaces/{where}/events",
                                       json=event(name, where, about, reason, kind=kind,
                                                  component=component))
        assert made.status_code == 201, made.text
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": where},
           "spec": {"nodeName": "kwok-node-1",
                    "containers": [{"name": "main", "image": "example.com/app:1"}]}}
    made = server.rest.client.post(f"/api/v1/namespaces/{where}/pods", json=pod)
    assert made.status_code == 201, made.text
    maps, events = f"/api/v1/namespaces/{where}/configmaps", f"/api/v1/namespaces/{where}/events"
    pods = f"/api/v1/namespaces/{where}/pods"

    assert selected(server, maps, "metadata.name=a") == ["a"]
    assert selected(server, maps, "metadata.name==a") == ["a"]
    assert selected(server, maps, "metadata.name!=a") == ["b", "kube-root-ca.crt"]
    assert selected(server, maps, f"metadata.name!=a,metadata.namespace={where}") == \
        ["b", "kube-root-ca.crt"]
    assert selected(server, "/api/v1/configmaps", f"metadata.namespace={where}") == \
        ["a", "b", "kube-root-ca.crt"]
    assert selected(server, events, "involvedObject.name=web-1") == ["e1", "e2"]
    assert selected(server, events, "involvedObject.name=web-1,type=Warning") == ["e1"]
    assert selected(server, events, "type!=Warning") == ["e2"]
    assert selected(server, events, "involvedObject.kind=Pod,reason=FailedScheduling") == ["e3"]
    assert selected(server, events, "source=default-scheduler") == ["e3"]
    # what the API server fills in when a pod leaves it out is what the fields select on
    assert selected(server, pods, "spec.nodeName=kwok-node-1,spec.restartPolicy=Always,"
                                  "spec.schedulerName=default-scheduler") == ["p"]
    assert selected(server, pods, "spec.nodeName=kwok-node-2") == []

    # an unknown field: each kind's conversion words it its own way
    assert selected(server, pods, "spec.bogus=x") == (
        400, "BadRequest: field label not supported: spec.bogus")
    assert selected(server, events, "involvedObject.bogus=1") == (
        400, "BadRequest: field label not supported: involvedObject.bogus")
    assert selected(server, maps, "data.x=y") == (
        400, 'BadRequest: "data.x" is not a known field selector: only "metadata.name", '
             '"metadata.namespace"')
    assert selected(server, f"/apis/apps/v1/namespaces/{where}/deployments", "spec.replicas=1") \
        == (400, 'BadRequest: "spec.replicas" is not a known field selector: only '
                 '"metadata.name", "metadata.namespace"')
    assert selected(server, f"/apis/batch/v1/namespaces/{where}/jobs", "bogus=1") == (
        400, 'BadRequest: field label "bogus" not supported for Job')
    # a term without an operator, a value with an unescaped "="
    assert selected(server, maps, "metadata.name") == (
        400, "BadRequest: invalid selector: 'metadata.name'; can't understand 'metadata.name'")
    assert selected(server, maps, "metadata.name=a=b") == (
        400, "BadRequest: invalid field selector: unescaped character in value: 61")


# ---- pod logs ------------------------------------------------------------------------------

def test_a_pod_log_names_one_container_and_checks_its_options(server: Server) -> None:
    """What the API server answers itself, before it asks a node's kubelet (kwok here)."""
    where = server.namespace("logs")

    def pod(name: str, *containers: str, **spec: Any) -> None:
        made = server.rest.client.post(f"/api/v1/namespaces/{where}/pods", json={
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": where},
            "spec": {"containers": [{"name": c, "image": "example.com/app:1"}
                                    for c in containers], **spec}})
        assert made.status_code == 201, made.text

    pod("two", "a", "b", nodeName="kwok-node-1",
        initContainers=[{"name": "setup", "image": "example.com/app:1"}])
    pod("waiting", "a", nodeSelector={"conformance.example.com/nowhere": "x"})

    def log(name: str, **params: str) -> tuple[int, str]:
        answer = server.rest.client.get(f"/api/v1/namespaces/{where}/pods/{name}/log",
                                        params=params)
        if answer.status_code >= 400:
            return answer.status_code, f'{body(answer)["reason"]}: {body(answer)["message"]}'
        return answer.status_code, answer.text

    assert log("two") == (400, "BadRequest: a container name must be specified for pod two, "
                               "choose one of: [setup a b]")
    assert log("two", container="zz") == (400, "BadRequest: container zz is not valid for "
                                                "pod two")
    assert log("two", container="a", tailLines="-1") == (
        422, 'Invalid: PodLogOptions "two" is invalid: tailLines: Invalid value: -1: must be '
             "greater than or equal to 0")
    assert log("two", container="a", tailLines="x") == (
        400, 'BadRequest: strconv.ParseInt: parsing "x": invalid syntax')
    assert log("nothing") == (404, 'NotFound: pods "nothing" not found')
    # no node runs it: no kubelet to ask, an empty answer
    assert log("waiting") == (204, "")

    refused = server.client_of(server.refuse([("get", "pods/log", where)]))
    answer = refused.client.get(f"/api/v1/namespaces/{where}/pods/two/log",
                                params={"container": "a"})
    assert answer.status_code == 403
    assert re.fullmatch(rf'pods "two" is forbidden: User "[^"]+" cannot get resource "pods/log" '
                        rf'in API group "" in the namespace "{where}"', body(answer)["message"])


# ---- the scheduler's message ---------------------------------------------------------------

def test_an_unschedulable_pod_reads_why_no_node_takes_it(
        server: Server, request: pytest.FixtureRequest) -> None:
    """The scheduler words its refusal from the pod's requests and the nodes: two plain nodes
    and one with 4 GPUs and the GPU taint (the real control plane's kwok nodes)."""
    if server.name == "emulator":  # its scheduler is the Jobs setting, its nodes the test's
        emulated: RunningEmulator = request.getfixturevalue("emulator")
        emulated.state.settings.jobs = True
        for name in (*PLAIN_NODES, GPU_NODE):
            allocatable = {"cpu": "64", "memory": "256Gi",
                           **({"nvidia.com/gpu": "4"} if name == GPU_NODE else {})}
            assert server.rest.client.post("/api/v1/nodes", json={
                "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                "spec": {"taints": [GPU_TAINT]} if name == GPU_NODE else {}}).status_code == 201
            with emulated.lock:
                emulated.state.report_status(("", "nodes", "", name),
                                             {"allocatable": allocatable})
    where = server.namespace("sched")
    tolerated = [{"key": GPU_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"}]

    def refusal(name: str, resources: dict[str, Any], tolerations: list[Any]) -> str:
        server.rest.apply({"apiVersion": "batch/v1", "kind": "Job",
                           "metadata": {"name": name, "namespace": where},
                           "spec": {"backoffLimit": 0, "template": {"spec": {
                               "restartPolicy": "Never", "tolerations": tolerations,
                               "containers": [{"name": "main", "image": "x:1",
                                               "resources": resources}]}}}})

        def said() -> str | None:
            pods = body(server.rest.client.get(f"/api/v1/namespaces/{where}/pods",
                                               params={"labelSelector": f"job-name={name}"}))
            for pod in pods["items"]:
                for condition in (pod.get("status") or {}).get("conditions") or []:
                    if condition["type"] == "PodScheduled" and condition["status"] == "False":
                        return str(condition["message"])
            return None

        return server.wait(said, f"the scheduler's refusal of {name}")

    tail = ("no new claims to deallocate, preemption: 0/3 nodes are available: 3 Preemption is "
            "not helpful for scheduling.")
    assert refusal("gpu", {"limits": {"nvidia.com/gpu": "1"}}, []) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient "
        f"nvidia.com/gpu. {tail}")
    assert refusal("big", {"requests": {"cpu": "1000", "memory": "100Ti"},
                           "limits": {"nvidia.com/gpu": "8"}}, tolerated) == (
        "0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory, 3 Insufficient "
        f"nvidia.com/gpu. {tail}")
