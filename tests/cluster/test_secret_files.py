"""Secrets on disk are never readable by others, not even for a moment (issue 20).

A watcher thread stats every file under the watched folders as fast as it can
while kfops works, and records any file whose mode lets the group or others
read it. `plan` keeps its scratch copy of the state directory in memory, so
even a plan killed with SIGTERM or SIGKILL leaves no copy behind.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kfops.cluster import ApplyOptions, Cluster
from kfops.config import load_platform
from kfops.operations import apply_platform, plan_platform, render_platform
from kfops.render import RenderOptions
from tests.conftest import FAST_WAITS, ROOT, PlatformWriter


class Watcher(threading.Thread):
    """Polls the modes of every file under `roots` until stopped."""

    def __init__(self, *roots: Path) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.exposed: set[tuple[str, str]] = set()
        self.seen: set[str] = set()
        self.polls = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for root in self.roots:
                for folder, _, names in os.walk(root):
                    for name in names:
                        self._check(Path(folder) / name)
            self.polls += 1

    def _check(self, path: Path) -> None:
        try:
            mode = stat.S_IMODE(os.lstat(path).st_mode)
        except FileNotFoundError:
            return  # replaced between the listing and the stat
        self.seen.add(str(path))
        if mode & 0o077:
            self.exposed.add((str(path), oct(mode)))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


@contextmanager
def watching(*roots: Path) -> Iterator[Watcher]:
    watcher = Watcher(*roots)
    watcher.start()
    try:
        yield watcher
    finally:
        watcher.stop()


@pytest.fixture(autouse=True)
def _own_state_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KFOPS_STATE_DIR", raising=False)


def test_state_files_are_never_readable_by_others(platform_file: PlatformWriter,
                                                  cluster: Cluster, tmp_path: Path) -> None:
    site = tmp_path / "site"
    loaded = load_platform(platform_file(folder=site))
    state = site / ".kfops"
    with watching(state) as watcher:  # watched from before it exists
        apply_platform(loaded, cluster, ApplyOptions(waits=FAST_WAITS),
                       render_options=RenderOptions(offline=True))
        plan_platform(loaded, cluster, RenderOptions(offline=True))

    assert watcher.polls > 10
    assert str(state / "secrets.json") in watcher.seen
    assert watcher.exposed == set()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o1777, 0o750])
def test_an_existing_state_directory_keeps_its_mode(platform_file: PlatformWriter,
                                                    tmp_path: Path, mode: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared-state"
    shared.mkdir()
    shared.chmod(mode)
    monkeypatch.setenv("KFOPS_STATE_DIR", str(shared))

    with watching(shared) as watcher:
        render_platform(load_platform(platform_file()), RenderOptions(offline=True))

    assert stat.S_IMODE(shared.stat().st_mode) == mode
    assert stat.S_IMODE((shared / "secrets.json").stat().st_mode) == 0o600
    assert watcher.exposed == set()
    assert [p.name for p in shared.iterdir()] == ["secrets.json"]


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_plan_leaves_no_copy_of_the_state(platform_file: PlatformWriter,
                                                   kubeconfig: Path, tmp_path: Path,
                                                   signal_number: int) -> None:
    site = tmp_path / "site"
    path = platform_file(folder=site)
    render_platform(load_platform(path), RenderOptions(offline=True))  # the state exists
    state = site / ".kfops"
    before = {p.name: p.read_bytes() for p in state.iterdir()}
    values = list(json.loads(before["secrets.json"]))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    command = [sys.executable, "-m", "kfops", "plan", "-f", str(path), "--offline",
               "--kubeconfig", str(kubeconfig)]
    environment = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(ROOT / "src")}

    with watching(scratch, state) as watcher:
        complete = subprocess.run(command, env=environment, capture_output=True, timeout=300,
                                  check=False)
        assert complete.returncode == 3, complete.stderr.decode()
        during = set(watcher.seen)
        killed = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        time.sleep(1.5)  # rendering: past reading the state, before the plan is printed
        killed.send_signal(signal_number)
        killed.wait(timeout=60)

    # Nothing was written next to the state, and no copy of it went to $TMPDIR.
    assert {p.name: p.read_bytes() for p in state.iterdir()} == before
    assert sorted(during | watcher.seen) == [str(state / "secrets.json")]
    assert not any(value in p.read_text(errors="replace")
                   for value in values for p in scratch.rglob("*") if p.is_file())
    assert watcher.exposed == set()
