"""The test tiers (tests/tiers.py): derived from what a test reaches, held to while it runs.

Each test here runs a small pytest session of its own with the suite's conftest, so the
derivation and the guard are the ones every test of the suite gets.
"""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

CONFTEST = "from tests.conftest import *  # noqa: F403 (the suite's hooks and fixtures)\n"
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


def _session(pytester: pytest.Pytester, source: str) -> None:
    """A folder with the suite's conftest and `source` as test_sample.py."""
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sample=textwrap.dedent(source))


def _tiers(pytester: pytest.Pytester, source: str) -> dict[str, set[str]]:
    """The tier markers each test of `source` gets, by test name."""
    _session(pytester, source)
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider")
    names = {"unit", "render", "emulator", "registry", "realcluster"}
    return {item.name: {m.name for m in item.iter_markers()} & names for item in items}


def test_tiers_follow_fixtures_helpers_and_the_command_line(pytester: pytest.Pytester) -> None:
    tiers = _tiers(pytester, """
        from pathlib import Path

        import pytest
        from hypothesis import given
        from hypothesis import strategies as st

        from kfops.cluster import Cluster
        from tests.helpers import presets
        from tests.helpers.cli import kfops
        from tests.helpers.oci import running_registry

        run = kfops

        def test_parses() -> None:
            assert kfops("--help")[0] == 0

        def test_emulated(cluster: Cluster) -> None:
            assert cluster

        def test_preset(tmp_path: Path) -> None:
            presets.render_preset(tmp_path, "local", "26.03")

        def test_command(tmp_path: Path) -> None:
            run("render", "-f", str(tmp_path / "platform.yaml"))

        def test_imported_in_the_test(tmp_path: Path) -> None:
            from kfops.cli import main

            main(["images", "mirror", "-f", str(tmp_path / "platform.yaml")])

        @pytest.mark.parametrize("argv", [("plan", "-f", "x"), ("schema",)])
        def test_parameters(argv: tuple[str, ...]) -> None:
            kfops(*argv)

        @given(st.sampled_from(["local", "onprem"]))
        def test_hypothesis(target: str) -> None:
            presets.render_preset(Path("unused"), target, "26.03")

        def test_registry(tmp_path: Path) -> None:
            with running_registry(tmp_path):
                pass

        class TestHelper:
            def helper(self, tmp_path: Path) -> None:
                presets.render_preset(tmp_path, "local", "26.03")

            def test_uses_a_helper(self, tmp_path: Path) -> None:
                self.helper(tmp_path)

            def test_not(self) -> None:
                assert self
    """)
    assert tiers == {
        "test_parses": {"unit"},
        "test_emulated": {"emulator"},
        "test_preset": {"render"},
        "test_command": {"render"},
        "test_imported_in_the_test": {"render", "registry"},  # mirror renders, then skopeo
        "test_parameters[argv0]": {"render"},
        "test_parameters[argv1]": {"unit"},
        "test_hypothesis": {"render"},
        "test_registry": {"registry"},
        "test_uses_a_helper": {"render"},
        "test_not": {"unit"},
    }


def test_a_unit_test_that_renders_or_connects_fails_however_it_handles_it(
        pytester: pytest.Pytester) -> None:
    _session(pytester, """
        import contextlib
        import importlib
        import socket

        from kfops.config import load_platform

        def test_renders_unseen(platform_file) -> None:
            # Reached through a name the reading cannot follow: the guard still sees it.
            operations = importlib.import_module("kfops" + ".operations")
            with contextlib.suppress(Exception):
                getattr(operations, "render_" + "platform")(load_platform(platform_file()))

        def test_connects() -> None:
            with contextlib.suppress(Exception):
                socket.create_connection(("127.0.0.1", 9), timeout=1)

        def test_plain() -> None:
            assert load_platform
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-m", "unit")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines([
        "*test_renders_unseen (tiers: unit) used what its tiers deny: kustomize version*",
        "*test_connects (tiers: unit) used what its tiers deny: socket.connect(('127.0.0.1', 9))*",
    ])
