"""Fuzz of the YAML loader and the platform model with hostile and malformed files.

Examples come from the catalogue of issue 18 (tests/helpers/hostile.py: YAML
bombs, deep nesting, tags, merge keys, device and outside paths, shell
payloads and junk in every field that reaches a script or a cluster name,
numbers and quotas the cluster refuses) and from random damage of the four
starters. Every example is loaded (file, YAML, model, references); a refused
one is also run through `kfops validate`. The assertions: exit 2 or a loaded
file (0), never another exception or a traceback, at most 2 s per example
(hypothesis's deadline) and, measured apart because tracemalloc slows Python
down fourfold, at most 200 MB of Python memory; nothing written beside a
refused file, and nothing that must be refused accepted.
Bounded examples, derandomized (a fixed seed), no example database.
"""

from __future__ import annotations

import datetime
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfops.cli import main
from kfops.config import LoadedPlatform, load_platform
from kfops.errors import ConfigError
from tests.helpers.hostile import STARTER_ENV, TARGETS, Variant, plant, starter, variants

#: Built on first use, not at collection (it renders about 800 files).
CATALOGUE = st.deferred(lambda: st.sampled_from(variants()))
MEMORY_LIMIT = 200 * 1024 * 1024
FUZZ = settings(max_examples=150, derandomize=True, database=None,
                deadline=datetime.timedelta(seconds=2),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
MEMORY = settings(FUZZ, deadline=None)
#: Pieces of hostile YAML inserted at random places of a starter.
SNIPPETS = ["&a [x]", "*a", "!!python/object:os.system x", "<<: *a", "{", "[", "]]]", "? [k]",
            "- - - -", "\t", "%YAML 1.1", "---", "...", "!local", "&a", "'", '"', "|", ">-",
            "key: value", "x: !!binary aGk=", "x: *undefined", "~", "\x00", "\ufeff", "#"]


@pytest.fixture(autouse=True)
def starter_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in STARTER_ENV.items():
        monkeypatch.setenv(name, value)


def check(variant: Variant, memory: bool = False) -> LoadedPlatform | None:
    """Load the variant as kfops does; assert the bounds; the loaded file, or None if refused.

    With `memory`, the load runs under tracemalloc (4 times slower, so not within the
    deadline's test) and its peak must stay under 200 MB.
    """
    with tempfile.TemporaryDirectory(prefix="kfops-fuzz-") as scratch:
        folder = Path(scratch)
        plant(folder, variant)
        before = sorted(folder.rglob("*"))
        if memory:
            tracemalloc.start()
        try:
            loaded: LoadedPlatform | None = load_platform(folder / "platform.yaml")
        except ConfigError as error:
            assert error.exit_code == 2
            assert all(p.message for p in error.problems)
            loaded = None
        finally:
            if memory:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                assert peak < MEMORY_LIMIT, f"{variant.name}: {peak / 1e6:.0f} MB"
        if loaded is None and not memory:
            assert main(["validate", "-f", str(folder / "platform.yaml")]) == 2
        assert sorted(folder.rglob("*")) == before, f"{variant.name}: wrote beside the file"
        return loaded


@FUZZ
@given(variant=CATALOGUE)
def test_the_catalogue_is_refused_or_warned_about(
    variant: Variant, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded = check(variant)
    assert "Traceback" not in capsys.readouterr().err
    if loaded is None:
        assert variant.bad, f"{variant.name}: a valid file was refused"
    elif variant.expect == "warn":
        assert loaded.warnings, f"{variant.name}: accepted without a warning"
    else:
        # Accepted by the loader: only what is valid, or what the render refuses (a folder
        # that is not a release), passes this step.
        assert variant.expect == "accept" or variant.stage == "render", variant.name


@MEMORY
@given(variant=CATALOGUE)
def test_the_catalogue_stays_under_200_mb(variant: Variant) -> None:
    check(variant, memory=True)


@FUZZ
@given(target=st.sampled_from(TARGETS), cuts=st.lists(
    st.tuples(st.integers(0, 10_000), st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=40))),
    min_size=1, max_size=4))
def test_random_damage_is_refused_or_read_never_crashes(
    target: str, cuts: list[tuple[int, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    text = starter(target)
    for position, snippet in cuts:
        at = position % (len(text) + 1)
        text = text[:at] + snippet + text[at:]
    check(Variant("random damage", target, text, expect="accept"))
    check(Variant("random damage", target, text, expect="accept"), memory=True)
    assert "Traceback" not in capsys.readouterr().err
