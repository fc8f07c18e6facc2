"""Finding the cluster: kubeconfig files merged as kubectl merges them, contexts, and a first
request that fails at once (not retried) when no API server answers at the address."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml
from lightkube import KubeConfig
from lightkube.core.exceptions import ConfigError

from kfops.cluster import Cluster, RetryPolicy
from kfops.cluster._kubeconfig import choose
from kfops.errors import KfopsError, KubeconfigError, Unavailable, Unreachable
from tests.conftest import NO_BACKOFF
from tests.emulator import Fault, FaultPlan, RunningEmulator, Settings
from tests.helpers.oci import free_port  # a port nothing listens on: connections are refused
from tests.helpers.tls import wrong_name_server

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "settings", "namespace": "default"}, "data": {"a": "1"}}


def kubeconfig(path: Path, contexts: dict[str, dict[str, Any]],
               current: str | None = None) -> Path:
    """A kubeconfig with one cluster and user per context (`cluster` entries as given)."""
    document: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster} for name, cluster in contexts.items()],
        "users": [{"name": name, "user": {"token": "t"}} for name in contexts],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}
                     for name in contexts]}
    if current:
        document["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def only_kfops_error(error: BaseException) -> None:
    """A kfops error, raised from the httpx error that found no API server (its cause)."""
    assert isinstance(error, KfopsError) and type(error).__module__ == "kfops.errors"
    assert isinstance(error.__cause__, httpx.HTTPError)


def test_closed_port_is_unreachable_at_once_naming_server_and_context(tmp_path: Path) -> None:
    server = f"http://127.0.0.1:{free_port()}"
    path = kubeconfig(tmp_path / "kubeconfig", {"lab": {"server": server}}, "lab")
    # Eight attempts would be retried for a transient failure; this one is not transient.
    with Cluster.connect(path, retry=RetryPolicy(attempts=8, base=60)) as cluster, \
            pytest.raises(Unreachable) as caught:
        cluster.apply(CONFIG_MAP)
    message = str(caught.value)
    assert server in message and "context lab" in message and str(path) in message
    assert "connection refused" in message
    assert not isinstance(caught.value, Unavailable)  # so the retry policy never sees it
    only_kfops_error(caught.value)


def test_unresolvable_host_is_unreachable(tmp_path: Path) -> None:
    # .invalid never resolves (RFC 6761): no packet leaves the machine for it.
    path = kubeconfig(tmp_path / "kubeconfig",
                      {"prod": {"server": "https://api.kfops-test.invalid:6443"}}, "prod")
    with Cluster.connect(path, retry=RetryPolicy(attempts=8, base=60)) as cluster, \
            pytest.raises(Unreachable, match=r"https://api\.kfops-test\.invalid:6443 "
                                             r"\(context prod.*does not resolve"):
        cluster.reach()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, list[int]]]:
    """An HTTPS server whose certificate names only wrong.example (tests/helpers/tls.py)."""
    with wrong_name_server(tmp_path) as served:
        yield served


def test_certificate_for_another_name_is_unreachable_after_one_connection(
        tmp_path: Path, tls_server: tuple[int, Path, list[int]]) -> None:
    port, cert, connections = tls_server
    ca = base64.b64encode(cert.read_bytes()).decode()
    path = kubeconfig(tmp_path / "kubeconfig", {"lab": {
        "server": f"https://127.0.0.1:{port}", "certificate-authority-data": ca}}, "lab")
    with Cluster.connect(path, retry=RetryPolicy(attempts=8, base=60)) as cluster, \
            pytest.raises(Unreachable) as caught:
        cluster.reach()
    message = str(caught.value)
    assert f"https://127.0.0.1:{port} (context lab" in message
    assert "TLS failed" in message and "127.0.0.1" in message
    assert connections == [1]  # one attempt, no retry


def test_a_connection_lost_after_the_first_answer_is_retried(tmp_path: Path) -> None:
    with RunningEmulator(Settings(), FaultPlan()) as emulator:
        path = emulator.write_kubeconfig(tmp_path / "kubeconfig")
        cluster = Cluster.connect(path, retry=RetryPolicy(attempts=2, base=0, jitter=0))
        assert cluster.get("v1", "Namespace", "default") is not None
    with cluster, pytest.raises(Unavailable, match="Namespace default: cannot reach"):
        cluster.get("v1", "Namespace", "default")


def test_a_first_request_dropped_after_connecting_is_retried(tmp_path: Path) -> None:
    # The server was reached (it accepted the connection): a drop is transient.
    with RunningEmulator(Settings(), FaultPlan(queued=[Fault("drop")])) as emulator:
        path = emulator.write_kubeconfig(tmp_path / "kubeconfig")
        with Cluster.connect(path, retry=NO_BACKOFF) as cluster:
            cluster.apply(CONFIG_MAP)
        assert [f.kind for f in emulator.faults.injected] == ["drop"]
        assert ("", "configmaps", "default", "settings") in emulator.state.objects


def test_kubeconfig_list_is_merged_as_kubectl_merges_it(
        emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = kubeconfig(tmp_path / "a/config", {"lab": {"server": emulator.url}}, "lab")
    second = kubeconfig(tmp_path / "b/config", {
        "lab": {"server": f"http://127.0.0.1:{free_port()}"},  # lab is first's: ignored
        "tls": {"server": "https://127.0.0.1:6443", "certificate-authority": "ca.crt"},
    }, current="tls")  # first set current-context: ignored
    missing = tmp_path / "nowhere/config"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), "", str(missing),
                                                      str(second)]))

    with Cluster.connect(retry=NO_BACKOFF) as cluster:
        assert cluster.get("v1", "Namespace", "default") is not None
        assert "context lab" in cluster.origin and str(second) in cluster.origin
    chosen = choose(None, "tls")
    # A relative file reference is read from the folder of the file that holds it.
    assert chosen.config.cluster.certificate_auth == str(tmp_path / "b/ca.crt")
    with pytest.raises(KubeconfigError, match=r"--context prod: .*it has: lab, tls"):
        choose(None, "prod")


def test_lightkube_alone_reads_kubeconfig_as_one_file_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why kfops merges the list itself: lightkube takes $KUBECONFIG as a single path."""
    first = kubeconfig(tmp_path / "a", {"lab": {"server": "http://127.0.0.1:1"}}, "lab")
    second = kubeconfig(tmp_path / "b", {"prod": {"server": "http://127.0.0.1:2"}})
    monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{second}")
    with pytest.raises(ConfigError, match="not found"):
        KubeConfig.from_env(service_account=tmp_path / "no-service-account")


def test_default_kubeconfig_and_bad_contexts_are_input_errors(
        emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(KubeconfigError, match="no kubeconfig found") as none:
        Cluster.connect()
    assert none.value.exit_code == 2
    home = Path(os.environ["HOME"])
    kubeconfig(home / ".kube/config", {"lab": {"server": emulator.url},
                                       "staging": {"server": emulator.url}})
    with pytest.raises(KubeconfigError, match="no current-context: choose one with --context "
                                              r"\(it has: lab, staging\)"):
        Cluster.connect()
    with Cluster.connect(context="staging", retry=NO_BACKOFF) as cluster:
        assert cluster.reach() == "1.34"
    with pytest.raises(KubeconfigError, match=r"--context prod: .* \(it has: lab, staging\)"):
        Cluster.connect(context="prod")
    with pytest.raises(KubeconfigError, match=r"--kubeconfig .*nope: no such file"):
        Cluster.connect(tmp_path / "nope")
    broken = tmp_path / "broken"
    broken.write_text("clusters: {a: 1}\n")
    with pytest.raises(KubeconfigError, match="is not a kubeconfig"):
        Cluster.connect(broken)


def test_server_without_scheme_gets_client_gos_default(emulator: RunningEmulator,
                                                       tmp_path: Path) -> None:
    address = emulator.url.removeprefix("http://")
    path = kubeconfig(tmp_path / "kubeconfig", {"lab": {"server": address}}, "lab")
    with Cluster.connect(path, retry=NO_BACKOFF) as cluster:
        assert cluster.reach() == "1.34"  # no TLS settings: http, as kubectl reads it
    secured = kubeconfig(tmp_path / "secured", {"lab": {
        "server": "127.0.0.1:6443", "insecure-skip-tls-verify": True}}, "lab")
    assert choose(secured, None).server == "https://127.0.0.1:6443"
