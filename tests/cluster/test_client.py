"""The client boundary: kubeconfig and contexts, error translation, transient retries."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx2 as httpx
import pytest
import yaml
from lightkube import ApiError

from kfops.cluster import Cluster, RetryPolicy
from kfops.cluster._retry import retrying
from kfops.errors import (
    AlreadyExists,
    ClusterError,
    Forbidden,
    InvalidObject,
    KfopsError,
    KubeconfigError,
    ObjectConflict,
    ObjectNotFound,
    Unavailable,
)
from tests.conftest import NO_BACKOFF
from tests.emulator import Fault, RunningEmulator

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "settings", "namespace": "default"}, "data": {"a": "1"}}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _kfops_error_only(error: BaseException) -> None:
    """The error is a kfops error, raised from the lightkube or httpx error (its cause)."""
    assert isinstance(error, KfopsError)
    assert type(error).__module__ == "kfops.errors"
    assert isinstance(error.__cause__, ApiError | httpx.HTTPError)


def test_context_is_chosen_from_the_kubeconfig(emulator: RunningEmulator, tmp_path: Path) -> None:
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig", context="lab")
    config = yaml.safe_load(kubeconfig.read_text())
    config["clusters"].append({"name": "gone", "cluster": {
        "server": f"http://127.0.0.1:{_closed_port()}"}})
    config["contexts"].append({"name": "gone", "context": {"cluster": "gone", "user": "lab"}})
    config["current-context"] = "gone"
    kubeconfig.write_text(yaml.safe_dump(config))

    with Cluster.connect(kubeconfig, context="lab", retry=NO_BACKOFF) as cluster:
        assert cluster.get("v1", "Namespace", "default") is not None
    with pytest.raises(KubeconfigError, match=r"--context missing: .*\(it has: gone, lab\)"):
        Cluster.connect(kubeconfig, context="missing")
    with pytest.raises(KubeconfigError, match="no such file"):
        Cluster.connect(tmp_path / "nope")


def test_transient_faults_are_retried_until_the_write_lands(cluster: Cluster,
                                                            emulator: RunningEmulator) -> None:
    emulator.faults.queued = [Fault("500"), Fault("drop"), Fault("429", retry_after=0)]

    cluster.apply(CONFIG_MAP)

    assert [f.kind for f in emulator.faults.injected] == ["500", "drop", "429"]
    assert cluster.get("v1", "ConfigMap", "settings", "default") is not None


def test_throttling_carries_retry_after(kubeconfig: Path, emulator: RunningEmulator) -> None:
    emulator.faults.queued = [Fault("429", retry_after=7)]
    with Cluster.connect(kubeconfig, retry=RetryPolicy(attempts=1)) as cluster, \
            pytest.raises(Unavailable) as caught:
        cluster.apply(CONFIG_MAP)
    assert caught.value.retry_after == 7
    _kfops_error_only(caught.value)


def test_slow_answer_times_out_as_unavailable(kubeconfig: Path, emulator: RunningEmulator) -> None:
    emulator.faults.queued = [Fault("slow", delay=2)]
    with Cluster.connect(kubeconfig, retry=RetryPolicy(attempts=1), timeout=0.2) as cluster, \
            pytest.raises(Unavailable, match="did not answer in time"):
        cluster.apply(CONFIG_MAP)


def test_refusals_are_not_retried_and_say_what_to_do(cluster: Cluster,
                                                     emulator: RunningEmulator) -> None:
    bad = {**CONFIG_MAP, "metadata": {"name": "Bad_Name", "namespace": "default"}}
    with pytest.raises(InvalidObject, match=r"ConfigMap default/Bad_Name: the API server "
                                            r"rejected it: .*RFC 1123") as invalid:
        cluster.apply(bad)
    _kfops_error_only(invalid.value)
    assert len(emulator.writes()) == 1

    cluster.apply(CONFIG_MAP)
    stale = cluster.get("v1", "ConfigMap", "settings", "default")
    assert stale is not None
    cluster.merge_patch("v1", "ConfigMap", "settings", {"data": {"a": "2"}}, "default")
    with pytest.raises(ObjectConflict, match="re-run"):
        cluster.merge_patch("v1", "ConfigMap", "settings", {
            "metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]},
            "data": {"a": "3"}}, "default")

    missing = {**CONFIG_MAP, "metadata": {"name": "x", "namespace": "no-such-namespace"}}
    with pytest.raises(ObjectNotFound, match="ConfigMap no-such-namespace/x"):
        cluster.apply(missing)


def test_a_namespace_being_deleted_is_not_reported_as_missing_permissions(
        cluster: Cluster) -> None:
    # The API server answers 403 (cause NamespaceTerminating) for a new object in a namespace
    # that is terminating; kfops's credentials lack nothing.
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "leaving"}})
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "held", "namespace": "leaving", "finalizers": ["example.com/hold"]}})
    cluster.delete("v1", "Namespace", "leaving")
    new = {**CONFIG_MAP, "metadata": {"name": "new", "namespace": "leaving"}}

    with pytest.raises(ClusterError, match=r"ConfigMap leaving/new: .* being terminated "
                                           r"\(its namespace is being deleted; wait") as refused:
        cluster.apply(new)

    assert not isinstance(refused.value, Forbidden)
    _kfops_error_only(refused.value)


def test_backoff_doubles_up_to_the_cap_and_honours_retry_after() -> None:
    slept: list[float] = []
    failures = [Unavailable("busy")] * 5 + [Unavailable("throttled", retry_after=40.0)]

    def call() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    policy = RetryPolicy(attempts=8, base=1.0, cap=6.0, jitter=0.5)
    assert retrying(policy, call, sleep=slept.append) == "done"

    assert len(slept) == 6
    for attempt, wait in enumerate(slept[:5]):
        plain = min(6.0, 2.0 ** attempt)
        assert plain <= wait <= plain * 1.5
    assert slept[5] == 40.0  # a server's Retry-After beats the cap


def test_retries_give_up_after_the_last_attempt() -> None:
    calls = []

    def call() -> None:
        calls.append(1)
        raise Unavailable("down")

    with pytest.raises(Unavailable, match="down"):
        retrying(RetryPolicy(attempts=3, base=0, jitter=0), call, sleep=lambda _: None)
    assert len(calls) == 3


def test_create_never_merges_and_replace_names_the_version_it_read(cluster: Cluster) -> None:
    created = cluster.create(CONFIG_MAP)
    with pytest.raises(AlreadyExists, match="ConfigMap default/settings"):
        cluster.create({**CONFIG_MAP, "data": {"a": "other"}})
    assert cluster.get("v1", "ConfigMap", "settings", "default") == created

    cluster.replace({**created, "data": {"a": "2"}})
    with pytest.raises(ObjectConflict) as stale:
        cluster.replace({**created, "data": {"a": "3"}})  # still at the first version
    assert not isinstance(stale.value, AlreadyExists)
    live = cluster.get("v1", "ConfigMap", "settings", "default")
    assert live is not None and live["data"] == {"a": "2"}


def test_listed_items_name_their_kind_as_the_list_does(cluster: Cluster,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """kube-apiserver names apiVersion and kind once, on the list, not on its items (the
    emulator names both); kfops's callers (contributors, profiles) read each item's kind."""
    cluster.apply(CONFIG_MAP)
    monkeypatch.setattr("kfops.cluster._api._as_dict", lambda resource: {
        k: v for k, v in resource.to_dict().items() if k not in ("apiVersion", "kind")})

    listed = cluster.list("v1", "ConfigMap", "default")

    assert "settings" in {item["metadata"]["name"] for item in listed}
    assert {(item["apiVersion"], item["kind"]) for item in listed} == {("v1", "ConfigMap")}


def test_refusals_carry_status_and_the_object_they_are_about(cluster: Cluster,
                                                             emulator: RunningEmulator) -> None:
    missing = {**CONFIG_MAP, "metadata": {"name": "x", "namespace": "no-such-namespace"}}
    with pytest.raises(ObjectNotFound) as not_found:
        cluster.apply(missing)
    cluster.create(CONFIG_MAP)
    with pytest.raises(AlreadyExists) as exists:
        cluster.create(CONFIG_MAP)
    with pytest.raises(InvalidObject) as invalid:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Bad_Name"}})
    emulator.state.deny("delete", "configmaps", "default")
    with pytest.raises(Forbidden) as forbidden:
        cluster.delete("v1", "ConfigMap", "settings", "default")

    found = [(e.value.status, e.value.kind, e.value.namespace, e.value.name)
             for e in (not_found, exists, forbidden, invalid)]
    assert found == [(404, "ConfigMap", "no-such-namespace", "x"),
                     (409, "ConfigMap", "default", "settings"),
                     (403, "ConfigMap", "default", "settings"),
                     (422, "Namespace", None, "Bad_Name")]  # cluster-scoped: no namespace
    for caught in (not_found, exists, forbidden, invalid):
        assert isinstance(caught.value.__cause__, ApiError)
        assert caught.value.__cause__.status.code == caught.value.status


def test_a_dropped_connection_keeps_its_cause_and_has_no_status(
        kubeconfig: Path, emulator: RunningEmulator) -> None:
    with Cluster.connect(kubeconfig, retry=RetryPolicy(attempts=1)) as cluster:
        cluster.reach()  # answered once: a connection lost later is transient
        emulator.faults.queued = [Fault("drop")]
        with pytest.raises(Unavailable) as caught:
            cluster.apply(CONFIG_MAP)

    assert isinstance(caught.value.__cause__, httpx.TransportError)
    error = caught.value
    assert (error.status, error.kind, error.namespace, error.name) == (
        None, "ConfigMap", "default", "settings")


def test_a_request_about_no_single_object_names_none(cluster: Cluster,
                                                     emulator: RunningEmulator) -> None:
    emulator.state.deny("list", "configmaps")
    with pytest.raises(Forbidden) as caught:
        cluster.list("v1", "ConfigMap")
    assert caught.value.status == 403
    assert (caught.value.kind, caught.value.namespace, caught.value.name) == (None, None, None)
