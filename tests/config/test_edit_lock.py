"""Two administrators editing one platform file at once: edits wait for each other."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kfops.cli import main
from kfops.config import lock_path
from tests.conftest import PlatformWriter

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
from pathlib import Path
from kfops.config import edit_platform

def slow_change(tree):
    print("holding", flush=True)
    time.sleep(120)

edit_platform(Path(sys.argv[1]), slow_change)
"""


def _user_add(path: Path, email: str, *extra: str) -> subprocess.Popen[str]:
    """`kfops user add` as its own process (the password comes on stdin)."""
    return subprocess.Popen(
        [sys.executable, "-m", "kfops", "user", "add", email, "--password-stdin",
         "--cost", "10", "-f", str(path), *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT)


def _emails(path: Path) -> list[str]:
    users = yaml.safe_load(path.read_text())["spec"]["auth"].get("users") or []
    return sorted(u["email"] for u in users)


@pytest.fixture
def holder(platform_file: PlatformWriter) -> Iterator[subprocess.Popen[str]]:
    """Another process in the middle of an edit of the platform file (until the test kills
    it)."""
    path = platform_file(spec_extra="  auth:\n    users: []\n")
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None and process.stdout.readline() == "holding\n"
    yield process
    process.kill()
    process.communicate()


def test_ten_pairs_of_concurrent_user_adds_lose_no_user(
        platform_file: PlatformWriter) -> None:
    path = platform_file(spec_extra="  auth:\n    users: []\n")
    lost = []
    for trial in range(10):
        pair = [f"a{trial}@example.com", f"b{trial}@example.com"]
        processes = [_user_add(path, email) for email in pair]
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("a-long-enough-password\n")
            process.stdin.flush()
        for process, email in zip(processes, pair, strict=True):
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            assert f"added {email}" in out
        lost += [email for email in pair if email not in _emails(path)]

    assert lost == []
    assert len(_emails(path)) == 20
    assert not lock_path(path).exists()


def test_no_wait_names_the_holder_and_changes_nothing(
        holder: subprocess.Popen[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "platform.yaml"
    before = path.read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-password\n"))

    code = main(["user", "add", "bob@example.com", "--password-stdin", "--cost", "10",
                 "-f", str(path), "--no-wait"])

    err = capsys.readouterr().err
    assert code == 1
    assert f"PID {holder.pid} on {socket.gethostname()}" in err
    assert "nothing was changed" in err
    assert path.read_text() == before


def test_a_second_edit_waits_says_for_whom_and_goes_on_when_the_holder_dies(
        holder: subprocess.Popen[str], tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as sink:
        with (tmp_path / "stdin.txt").open("w+") as password:
            password.write("a-long-enough-password\n")
            password.seek(0)
            waiting = subprocess.Popen(
                [sys.executable, "-m", "kfops", "user", "add", "bob@example.com",
                 "--password-stdin", "--cost", "10", "-f", str(path)],
                stdin=password, stdout=subprocess.DEVNULL, stderr=sink, cwd=ROOT)
        deadline = time.monotonic() + 60
        while "waiting" not in errors.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert f"is being edited by PID {holder.pid} on {socket.gethostname()}" in \
            errors.read_text()
        assert waiting.poll() is None and _emails(path) == []

        os.kill(holder.pid, signal.SIGKILL)  # a crash: the kernel drops its lock
        assert waiting.wait(timeout=60) == 0

    assert _emails(path) == ["bob@example.com"]
    assert not lock_path(path).exists()
