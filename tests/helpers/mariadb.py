"""A throwaway MariaDB server (Debian's mariadb-server) on 127.0.0.1, and a stand-in kubelet
that runs a Job's container on this machine against it.

scripts/install-system-deps installs mariadb-server and mariadb-client; their `mysql` and
`mysqldump` speak the protocol and take the options of MySQL's own clients, which the
database Jobs of `kfops backup` run (in the database's image). Each server starts from an
empty data folder under the test's temp dir in about half a second.
"""

from __future__ import annotations

import base64
import getpass
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfops.cluster import Cluster
from tests.emulator import RunningEmulator
from tests.helpers.oci import free_port
from tests.helpers.processes import stop

SERVER = shutil.which("mariadbd") or "/usr/sbin/mariadbd"


@dataclass(frozen=True)
class MariaDB:
    """A running server: root's password is `password`."""

    port: int
    password: str

    def sql(self, statement: str, password: str | None = None) -> str:
        """Run `statement` as root (with `password`, default the one it started with); its
        rows, tab-separated, without column names."""
        return subprocess.run(
            ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(self.port), "-u", "root",
             f"-p{self.password if password is None else password}", "--batch",
             "--skip-column-names", "-e", statement],
            check=True, capture_output=True, text=True, timeout=30).stdout


@contextmanager
def running_mariadb(folder: Path, password: str) -> Iterator[MariaDB]:
    """A MariaDB server on a free port of 127.0.0.1 with data under `folder`, root's password
    set to `password`; stopped at the end."""
    if not Path(SERVER).exists() or shutil.which("mariadb-install-db") is None:
        raise RuntimeError("mariadb-server is not installed: run scripts/install-system-deps")
    data = folder / "data"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}",
                    f"--user={getpass.getuser()}", "--auth-root-authentication-method=normal",
                    "--skip-test-db"], check=True, capture_output=True, timeout=120)
    port = free_port()
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [SERVER, "--no-defaults", f"--datadir={data}", f"--socket={folder / 'sock'}",
             "--bind-address=127.0.0.1", f"--port={port}", f"--user={getpass.getuser()}",
             "--skip-log-bin", "--skip-name-resolve", "--innodb-buffer-pool-size=16M",
             f"--pid-file={folder / 'pid'}"],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_serving(folder / "sock", server)
        literal = "'" + password.replace("\\", "\\\\").replace("'", "''") + "'"
        subprocess.run(["mariadb", "--no-defaults", f"--socket={folder / 'sock'}", "-u", "root",
                        "-e", f"ALTER USER root@localhost IDENTIFIED BY {literal}; "
                              f"ALTER USER root@'127.0.0.1' IDENTIFIED BY {literal}"],
                       check=True, capture_output=True, timeout=30)
        yield MariaDB(port, password)
    finally:
        stop(server)


def _wait_until_serving(socket: Path, server: subprocess.Popen[bytes],
                        timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"mariadbd exited {server.returncode}")
        probe = subprocess.run(["mariadb", "--no-defaults", f"--socket={socket}", "-u", "root",
                                "-e", "SELECT 1"], capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return
        time.sleep(0.05)
    raise RuntimeError("mariadbd did not start serving")


class LocalKubelet:
    """Runs a Job pod's container here, as a kubelet would run it on a node: its command with
    its env (Secret references resolved from the emulated cluster's Secrets), its volumes
    as folders (a PVC's folder kept per claim, emptyDirs fresh), and each database Service
    host answered by a local server (`servers`: host -> MariaDB)."""

    def __init__(self, root: Path, servers: dict[str, MariaDB]) -> None:
        self.root = root
        self.servers = servers
        self.runs: list[dict[str, Any]] = []
        """The pods run, in order."""

    def claim_folder(self, namespace: str, claim: str) -> Path:
        """Where the PVC `namespace/claim` keeps its files."""
        return self.root / "claims" / namespace / claim

    def __call__(self, pod: dict[str, Any], secrets: dict[tuple[str, str], dict[str, Any]]
                 ) -> tuple[int, str]:
        """Run `pod`'s one container; its exit code and log (stdout and stderr)."""
        self.runs.append(pod)
        namespace = pod["metadata"]["namespace"]
        container = pod["spec"]["containers"][0]
        volumes = self._volumes(pod, namespace)
        env = {"PATH": os.environ["PATH"], "HOME": str(self.root)}
        for entry in container.get("env") or []:
            env[entry["name"]] = self._value(entry, namespace, secrets)
        for mount in container.get("volumeMounts") or []:
            # Absolute paths of the container become the volume's folder here.
            for name, value in list(env.items()):
                if value.startswith(mount["mountPath"]):
                    env[name] = str(volumes[mount["name"]]) + value[len(mount["mountPath"]):]
        server = self.servers[env["DB_HOST"]]
        env["DB_HOST"], env["DB_PORT"] = "127.0.0.1", str(server.port)
        done = subprocess.run(container["command"], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        return done.returncode, done.stdout + done.stderr

    def _volumes(self, pod: dict[str, Any], namespace: str) -> dict[str, Path]:
        folders = {}
        for volume in pod["spec"].get("volumes") or []:
            if "persistentVolumeClaim" in volume:
                folder = self.claim_folder(namespace, volume["persistentVolumeClaim"]["claimName"])
            else:
                folder = self.root / "emptydir" / pod["metadata"]["name"] / volume["name"]
                shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)
            folders[volume["name"]] = folder
        return folders

    @staticmethod
    def _value(entry: dict[str, Any], namespace: str,
               secrets: dict[tuple[str, str], dict[str, Any]]) -> str:
        if "value" in entry:
            return str(entry["value"])
        ref = entry["valueFrom"]["secretKeyRef"]
        data = secrets[(namespace, ref["name"])].get("data") or {}
        return base64.b64decode(data[ref["key"]]).decode()


@contextmanager
def platform_databases(emulator: RunningEmulator, cluster: Cluster, folder: Path, *,
                       pipelines_sql: str, katib_sql: str) -> Iterator[LocalKubelet]:
    """The platform's Pipelines and Katib databases as MariaDB servers with the passwords its
    Secrets hold, each given its data by a statement; the emulator's Jobs run their
    containers here for as long as it lasts."""
    pipelines = _secret_value(cluster, "mysql-secret", "password")
    katib = _secret_value(cluster, "katib-mysql-secrets", "MYSQL_ROOT_PASSWORD")
    with running_mariadb(folder / "pipelines-db", pipelines) as kfp, \
            running_mariadb(folder / "katib-db", katib) as katib_db:
        kfp.sql(pipelines_sql)
        katib_db.sql(katib_sql)
        runner = LocalKubelet(folder / "node", {"mysql.kubeflow.svc": kfp,
                                                "katib-mysql.kubeflow.svc": katib_db})
        with emulator.lock:
            emulator.state.settings.jobs = True
            emulator.state.settings.run_container = runner
        yield runner


def _secret_value(cluster: Cluster, name: str, key: str) -> str:
    secret = cluster.get("v1", "Secret", name, "kubeflow")
    assert secret is not None
    return base64.b64decode(secret["data"][key]).decode()
