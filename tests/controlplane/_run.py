"""Start and stop one control plane: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok with three nodes, all on 127.0.0.1 (inside a loopback-only network
namespace where the machine allows one)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.controlplane import _netns, _pki
from tests.controlplane._versions import Binaries

ROOT = Path(__file__).resolve().parents[2]
#: The GPU node's taint: the platform's default gpu.taint (config/_gpu.py Taint).
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
GPU_NODE = "kwok-gpu-1"
PLAIN_NODES = ("kwok-node-1", "kwok-node-2")
#: What kwok's nodes carry: enough for the whole platform and its users' pods.
_NODE_CAPACITY = {"cpu": "64", "memory": "256Gi", "pods": "500", "ephemeral-storage": "1Ti"}
#: Annotation kwok is told to manage nodes by (it leaves other nodes alone).
_KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")


class StartError(Exception):
    """The control plane did not come up in time; the message has the component's log tail."""


@dataclass(frozen=True)
class Ports:
    """Where each component listens (inside the namespace, or on the host without one)."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def fixed(cls) -> Ports:
        """A namespace of one's own has its own loopback: the usual ports are free there."""
        return cls(2379, 2380, 6443, 10257, 10259, 10247)

    @classmethod
    def free(cls) -> Ports:
        return cls(*(_free_port() for _ in range(6)))


ADMIN_USER = "kfops-test-admin"


@dataclass(frozen=True)
class Write:
    """One write the API server answered, from its audit log."""

    verb: str
    resource: str
    namespace: str
    name: str
    code: int


@dataclass
class Started:
    """A process this control plane started: pid and kernel start time, so `down` signals
    exactly it and never a later process that reused the pid."""

    name: str
    pid: int
    start_time: int
    log: str


@dataclass
class ControlPlane:
    """A running control plane; `kubeconfig` is an admin kubeconfig for the host's loopback."""

    folder: Path
    netns: str | None
    server: str
    kubeconfig: Path
    processes: list[Started] = field(default_factory=list)
    tied: bool = False
    _children: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)
    """The processes this Python process started, to collect their exit status."""

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    def start(cls, binaries: Binaries, folder: Path, *, timeout: float = 120,
              isolate: bool | None = None, tied: bool = True) -> ControlPlane:
        """Start every component and wait until the API is ready, the nodes are Ready and
        the controllers work; on failure stop what was started and raise StartError.

        `tied`: the components are killed when this process dies, even by SIGKILL (a test
        run killed by a CI timeout leaves nothing running); `scripts/control-plane up`
        starts them untied, to outlive it.
        """
        folder.mkdir(parents=True, exist_ok=True)
        use_netns = _netns.available() if isolate is None else isolate
        netns = f"kfops-cp-{uuid.uuid4().hex[:8]}" if use_netns else None
        ports = Ports.fixed() if netns else Ports.free()
        pki = _pki.generate(folder / "pki")
        plane = cls(folder, netns, "", folder / "admin.kubeconfig", tied=tied)
        try:
            if netns:
                _netns.create(netns)
            deadline = time.monotonic() + timeout
            plane._launch_server(binaries, ports, pki)
            plane._save()
            with plane.client() as client:
                # the controllers read RBAC the server bootstraps: they start once it is ready
                plane._wait(deadline, "kube-apiserver", lambda: _ok(client, "/readyz"))
                plane._launch_controllers(binaries, ports, pki)
                plane._save()
                plane._wait_for_controllers(client, deadline)
        except BaseException:
            plane.stop()
            raise
        return plane

    @classmethod
    def load(cls, folder: Path) -> ControlPlane:
        """The control plane `start` recorded in folder (for `scripts/control-plane down`)."""
        data = json.loads((folder / "state.json").read_text())
        return cls(folder, data["netns"], data["server"], Path(data["kubeconfig"]),
                   [Started(**item) for item in data["processes"]])

    def stop(self, grace: float = 10) -> None:
        """Stop the processes it started, newest first (the store last, so every component
        shuts down against a live API), then remove its namespace."""
        for started in reversed(self.processes):
            _signal(started, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while _alive(started) and time.monotonic() < deadline:
                time.sleep(0.02)
            if _alive(started):
                _signal(started, signal.SIGKILL)
            child = self._children.pop(started.pid, None)
            if child is not None:
                child.wait()
        self.processes = []
        if self.netns:
            _netns.delete(self.netns)
        (self.folder / "state.json").unlink(missing_ok=True)

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- clients -----------------------------------------------------------------------

    def client(self) -> httpx.Client:
        """An admin HTTP client of the API server."""
        pki = self.folder / "pki"
        # httpx 0.28 ignores `cert=` beside a CA path: the context carries both
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return httpx.Client(base_url=self.server, verify=context, timeout=30)

    def kubeconfig_for(self, user: str) -> Path:
        """A kubeconfig of `user`, who may do only what RBAC grants it (nothing, unbound)."""
        pki = self.folder / "pki"
        identity = _pki.issue_client(pki, f"user-{user}", user)
        return write_kubeconfig(self.folder / f"{user}.kubeconfig", self.server, pki / "ca.crt",
                                identity)

    def audit_size(self) -> int:
        """Where the audit log ends now (for `writes(after=...)`)."""
        path = self.folder / "audit.log"
        return path.stat().st_size if path.is_file() else 0

    def writes(self, user: str = ADMIN_USER, after: int = 0) -> list[Write]:
        """Every write request `user` made that reached storage (dry runs left out), in order,
        from the API server's audit log (from byte `after` on, when polling)."""
        path = self.folder / "audit.log"
        if not path.is_file():
            return []
        with path.open("rb") as log:
            log.seek(after)
            text = log.read().decode()
        found = []
        # a line being written has no newline yet: it is read by the next poll
        for line in text.splitlines()[:-1] if not text.endswith("\n") else text.splitlines():
            event = json.loads(line)
            uri = event.get("requestURI", "")
            if event.get("user", {}).get("username") != user or "dryRun=All" in uri:
                continue
            ref = event.get("objectRef") or {}
            found.append(Write(event["verb"], ref.get("resource", ""), ref.get("namespace", ""),
                               ref.get("name", ""), int(event.get("responseStatus", {})
                                                        .get("code", 0))))
        return found

    def log_tail(self, name: str, lines: int = 25) -> str:
        path = self.folder / "logs" / f"{name}.log"
        if not path.is_file():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- internals ---------------------------------------------------------------------

    def _launch_server(self, binaries: Binaries, ports: Ports, pki: _pki.Pki) -> None:
        """etcd, kube-apiserver and (in a namespace) the forwarder to it."""
        inner = f"https://127.0.0.1:{ports.apiserver}"
        data = self.folder / "etcd-data"
        self._launch("etcd", [
            str(binaries.etcd), "--name=default", f"--data-dir={data}",
            f"--listen-client-urls=http://127.0.0.1:{ports.etcd_client}",
            f"--advertise-client-urls=http://127.0.0.1:{ports.etcd_client}",
            f"--listen-peer-urls=http://127.0.0.1:{ports.etcd_peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{ports.etcd_peer}",
            f"--initial-cluster=default=http://127.0.0.1:{ports.etcd_peer}",
            "--listen-metrics-urls=", "--log-level=warn",
            # test data only: losing it on a power cut is fine, waiting for disks is not
            "--unsafe-no-fsync=true",
        ])
        self._launch("kube-apiserver", [
            str(binaries.apiserver),
            f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
            "--bind-address=127.0.0.1", f"--secure-port={ports.apiserver}",
            "--advertise-address=127.0.0.1",
            # the `kubernetes` Service's endpoints would name 127.0.0.1, which Endpoints refuse
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={pki.serving.cert}", f"--tls-private-key-file={pki.serving.key}",
            f"--client-ca-file={pki.ca}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=Node,RBAC", "--allow-privileged=true",
            f"--kubelet-client-certificate={pki.admin.cert}",
            f"--kubelet-client-key={pki.admin.key}",
            f"--audit-policy-file={_write_audit_policy(self.folder)}",
            f"--audit-log-path={self.folder / 'audit.log'}", "--audit-log-format=json",
            "--audit-log-mode=blocking",
            "--profiling=false", "--v=1",
        ])
        if self.netns:
            port_file = self.folder / "forward.port"
            self._launch("forward", [sys.executable, "-m", "tests.controlplane._forward",
                                     self.netns, str(ports.apiserver), str(port_file)],
                         in_netns=False)
            self.server = f"https://127.0.0.1:{_read_port(port_file, self)}"
        else:
            self.server = inner
        write_kubeconfig(self.kubeconfig, self.server, pki.ca, pki.admin)

    def _launch_controllers(self, binaries: Binaries, ports: Ports, pki: _pki.Pki) -> None:
        """kube-controller-manager, kube-scheduler and kwok, each with its own identity."""
        configs = self.folder / "kubeconfigs"
        configs.mkdir(exist_ok=True)

        def config(name: str, who: _pki.Identity) -> str:
            return str(write_kubeconfig(configs / f"{name}.kubeconfig",
                                        f"https://127.0.0.1:{ports.apiserver}", pki.ca, who))

        cm = config("controller-manager", pki.controller_manager)
        self._launch("kube-controller-manager", [
            str(binaries.controller_manager), f"--kubeconfig={cm}",
            f"--authentication-kubeconfig={cm}", f"--authorization-kubeconfig={cm}",
            "--bind-address=127.0.0.1", f"--secure-port={ports.controller_manager}",
            "--leader-elect=false", "--controllers=*",
            f"--root-ca-file={pki.ca}",
            f"--service-account-private-key-file={pki.service_account_key}",
            "--use-service-account-credentials=true",
            # kubernetes.io/host-path: the in-tree provisioner meant for single-node tests
            "--enable-hostpath-provisioner=true",
            "--cluster-cidr=10.0.0.0/16", "--service-cluster-ip-range=10.96.0.0/16",
            "--profiling=false", "--v=1",
        ])
        scheduler = config("scheduler", pki.scheduler)
        self._launch("kube-scheduler", [
            str(binaries.scheduler), f"--kubeconfig={scheduler}",
            f"--authentication-kubeconfig={scheduler}",
            f"--authorization-kubeconfig={scheduler}",
            "--bind-address=127.0.0.1", f"--secure-port={ports.scheduler}",
            "--leader-elect=false", "--profiling=false", "--v=1",
        ])
        kwok = config("kwok", pki.kwok)
        self._launch("kwok", [
            str(binaries.kwok), f"--kubeconfig={kwok}", f"--config={binaries.kwok_stages}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={'='.join(_KWOK_ANNOTATION)}",
            # the nodes' address is loopback, so anything asking a "kubelet" asks kwok here
            "--node-ip=127.0.0.1", f"--node-port={ports.kwok}",
            f"--server-address=127.0.0.1:{ports.kwok}",
            f"--tls-cert-file={pki.serving.cert}",
            f"--tls-private-key-file={pki.serving.key}",
            "--cidr=10.0.0.1/16",
            # kubelets renew a Lease every 10 s; without one the node controller sees only
            # kwok's status updates (a minute apart) and marks the nodes NotReady
            "--node-lease-duration-seconds=40",
        ])

    def _launch(self, name: str, argv: list[str], *, in_netns: bool = True) -> None:
        logs = self.folder / "logs"
        logs.mkdir(exist_ok=True)
        log = logs / f"{name}.log"
        command = _netns.wrap(self.netns if in_netns else None, argv)
        if self.tied and shutil.which("setpriv"):
            # the kernel's parent-death signal survives the execs of setpriv and `ip netns exec`
            command = ["setpriv", "--pdeathsig", "KILL", *command]
        with log.open("ab") as out:
            process = subprocess.Popen(
                command, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
                start_new_session=True)
        self._children[process.pid] = process
        self.processes.append(Started(name, process.pid, _start_time(process.pid), str(log)))

    def _save(self) -> None:
        state = {"netns": self.netns, "server": self.server, "kubeconfig": str(self.kubeconfig),
                 "processes": [asdict(started) for started in self.processes]}
        (self.folder / "state.json").write_text(json.dumps(state, indent=2))

    def _wait_for_controllers(self, client: httpx.Client, deadline: float) -> None:
        _create_nodes(client)
        _create_storage_class(client)
        self._wait(deadline, "kwok", lambda: _nodes_ready(client))
        self._wait(deadline, "kube-controller-manager",
                   lambda: _ok(client, "/api/v1/namespaces/default/serviceaccounts/default"))

    def _wait(self, deadline: float, component: str, ready: Callable[[], bool]) -> None:
        while True:
            for started in self.processes:
                if not _alive(started):
                    raise StartError(f"{started.name} exited while the control plane started; "
                                     f"its log ends:\n{self.log_tail(started.name)}")
            try:
                if ready():
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise StartError(f"{component} was not ready in time; its log ends:\n"
                                 f"{self.log_tail(component)}")
            time.sleep(0.2)


def _write_audit_policy(folder: Path) -> Path:
    """Every write, at Metadata level, once answered: what the tests count as writes."""
    policy = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy",
              "omitStages": ["RequestReceived"],
              "rules": [{"level": "Metadata",
                         "verbs": ["create", "update", "patch", "delete", "deletecollection"]},
                        {"level": "None"}]}
    path = folder / "audit-policy.json"
    path.write_text(json.dumps(policy))
    return path


def write_kubeconfig(path: Path, server: str, ca: Path, who: _pki.Identity) -> Path:
    """A kubeconfig with one cluster, user and context, certificates by path."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "kfops-test",
        "clusters": [{"name": "kfops-test",
                      "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": "admin", "user": {"client-certificate": str(who.cert),
                                             "client-key": str(who.key)}}],
        "contexts": [{"name": "kfops-test",
                      "context": {"cluster": "kfops-test", "user": "admin"}}],
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
    return path


def _create_nodes(client: httpx.Client) -> None:
    """Two plain nodes and one with 4 GPUs and the platform's GPU taint; kwok plays them."""
    for name in (*PLAIN_NODES, GPU_NODE):
        gpu = name == GPU_NODE
        capacity = {**_NODE_CAPACITY, **({"nvidia.com/gpu": "4"} if gpu else {})}
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64", "type": "kwok"}
        if gpu:
            labels["nvidia.com/gpu.present"] = "true"
        node: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels,
                         "annotations": {_KWOK_ANNOTATION[0]: _KWOK_ANNOTATION[1]}},
            "spec": {"taints": [GPU_TAINT]} if gpu else {},
            # a Node's status may be set on create (kwok's own way of making nodes)
            "status": {"capacity": capacity, "allocatable": capacity},
        }
        answer = client.post("/api/v1/nodes", json=node)
        if answer.status_code not in (201, 409):
            raise StartError(f"creating node {name} answered {answer.status_code}: {answer.text}")


def _create_storage_class(client: httpx.Client) -> None:
    """The default StorageClass: kube-controller-manager's host-path provisioner binds PVCs."""
    storage_class = {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "standard", "annotations": {
            "storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/host-path", "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }
    answer = client.post("/apis/storage.k8s.io/v1/storageclasses", json=storage_class)
    if answer.status_code not in (201, 409):
        raise StartError(f"creating the StorageClass answered {answer.status_code}: "
                         f"{answer.text}")


def _nodes_ready(client: httpx.Client) -> bool:
    answer = client.get("/api/v1/nodes")
    if answer.status_code != 200:
        return False
    ready = {item["metadata"]["name"] for item in answer.json()["items"]
             if any(c["type"] == "Ready" and c["status"] == "True"
                    for c in item.get("status", {}).get("conditions", []))}
    return ready >= {*PLAIN_NODES, GPU_NODE}


def _ok(client: httpx.Client, path: str) -> bool:
    return client.get(path).status_code == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _read_port(path: Path, plane: ControlPlane, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        if time.monotonic() > deadline:
            raise StartError(f"the loopback forwarder did not start; its log ends:\n"
                             f"{plane.log_tail('forward')}")
        time.sleep(0.02)
    return int(path.read_text())


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[19])


def _alive(started: Started) -> bool:
    if started.start_time != _start_time(started.pid):
        return False
    try:
        state = Path(f"/proc/{started.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _signal(started: Started, signum: int) -> None:
    if _alive(started):
        with contextlib.suppress(ProcessLookupError):
            os.kill(started.pid, signum)
