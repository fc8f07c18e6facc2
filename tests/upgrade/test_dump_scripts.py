"""The database Jobs' scripts, run as written against a real (MariaDB) server on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kfops.upgrade._dumps import DUMP_SCRIPT, LOAD_SCRIPT
from tests.helpers.mariadb import MariaDB, running_mariadb

#: Quotes, a backslash and a percent sign: the option file must carry it as it is.
PASSWORD = 'pa"ss\\wo%rd$1'


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MariaDB]:
    with running_mariadb(tmp_path / "mariadb", PASSWORD) as running:
        running.sql("CREATE DATABASE mlpipeline; CREATE DATABASE cachedb; "
                    "CREATE TABLE mlpipeline.run_details (uuid VARCHAR(64) PRIMARY KEY, "
                    "name TEXT); INSERT INTO mlpipeline.run_details VALUES "
                    "('r1', 'first run'), ('r2', 'second, with ''quotes''');"
                    "CREATE TABLE cachedb.entries (id INT PRIMARY KEY); "
                    "INSERT INTO cachedb.entries VALUES (7)")
        yield running


def run(script: str, server: MariaDB, folder: Path,
        password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    scratch = folder / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "DB_HOST": "127.0.0.1",
           "DB_PORT": str(server.port), "DB_PASSWORD": password,
           "DUMP_DIR": str(folder / "claim" / "kfops-backup-lab-20260314T120000Z"),
           "DUMP_FILE": "pipelines.sql.gz", "SCRATCH": str(scratch)}
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                           timeout=60, check=False)


def test_dump_and_load_round_trip_the_databases(server: MariaDB, tmp_path: Path) -> None:
    dumped = run(DUMP_SCRIPT, server, tmp_path)
    assert dumped.returncode == 0, dumped.stderr
    folder = tmp_path / "claim" / "kfops-backup-lab-20260314T120000Z"
    dump = folder / "pipelines.sql.gz"
    checksum = hashlib.sha256(dump.read_bytes()).hexdigest()
    assert dumped.stdout.splitlines()[-1] == (
        f"kfops-dump pipelines.sql.gz {dump.stat().st_size} {checksum} cachedb,mlpipeline")
    assert (folder / "pipelines.sql.gz.sha256").read_text() == f"{checksum}  pipelines.sql.gz\n"
    assert sorted(p.name for p in folder.iterdir()) == ["pipelines.sql.gz",
                                                         "pipelines.sql.gz.sha256"]
    assert dump.stat().st_mode & 0o077 == 0  # umask 077: the dump is the owner's only
    text = gzip.decompress(dump.read_bytes()).decode()
    assert "CREATE DATABASE" in text and "INSERT INTO `run_details`" in text
    assert "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `mysql`" not in text  # the server's own
    assert PASSWORD not in dumped.stdout + dumped.stderr

    server.sql("DROP DATABASE mlpipeline; DELETE FROM cachedb.entries")
    loaded = run(LOAD_SCRIPT, server, tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines()[-1] == "kfops-load pipelines.sql.gz"
    assert server.sql("SELECT uuid, name FROM mlpipeline.run_details ORDER BY uuid") == (
        "r1\tfirst run\nr2\tsecond, with 'quotes'\n")
    assert server.sql("SELECT id FROM cachedb.entries") == "7\n"
    assert PASSWORD not in loaded.stdout + loaded.stderr


def test_load_refuses_a_dump_whose_checksum_differs(server: MariaDB, tmp_path: Path) -> None:
    assert run(DUMP_SCRIPT, server, tmp_path).returncode == 0
    dump = tmp_path / "claim" / "kfops-backup-lab-20260314T120000Z" / "pipelines.sql.gz"
    dump.write_bytes(gzip.compress(b"DROP DATABASE mlpipeline;\n"))
    loaded = run(LOAD_SCRIPT, server, tmp_path)
    assert loaded.returncode != 0
    assert "FAILED" in loaded.stderr
    assert server.sql("SELECT count(*) FROM mlpipeline.run_details") == "2\n"


def test_a_wrong_password_fails_without_a_partial_dump(server: MariaDB, tmp_path: Path) -> None:
    dumped = run(DUMP_SCRIPT, server, tmp_path, password="not-the-password")
    assert dumped.returncode != 0
    assert "Access denied" in dumped.stderr
    assert "not-the-password" not in dumped.stdout + dumped.stderr
    folder = tmp_path / "claim" / "kfops-backup-lab-20260314T120000Z"
    assert not (folder / "pipelines.sql.gz").exists()


def test_the_scripts_pass_shellcheck(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck is not None, "run scripts/install-system-deps"
    for name, script in (("dump.sh", DUMP_SCRIPT), ("load.sh", LOAD_SCRIPT)):
        path = tmp_path / name
        path.write_text("#!/usr/bin/env bash\n" + script)
        checked = subprocess.run([shellcheck, str(path)], capture_output=True, text=True,
                                 check=False)
        assert checked.returncode == 0, checked.stdout
