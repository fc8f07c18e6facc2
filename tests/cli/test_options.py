"""Option groups: a command taking a group has the group's flags, in its place, and receives
the group built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from kfops.cli._editing import Day2
from kfops.cli._options import (
    Connection,
    FileOption,
    OnCluster,
    OptionGroup,
    command_group,
    grouped,
)
from kfops.config import DEFAULT_PLATFORM_FILE
from kfops.errors import InputError


@dataclass(frozen=True)
class Where(OptionGroup):
    """A group with a nested group in the middle."""

    file: FileOption = DEFAULT_PLATFORM_FILE
    connection: Connection = field(default_factory=Connection)
    loud: Annotated[bool, typer.Option("--loud")] = False


def _app(seen: list[object]) -> typer.Typer:
    app = command_group("test")

    @app.command("one")
    @grouped
    def one(name: Annotated[str, typer.Argument()], where: Where,
            count: Annotated[int, typer.Option("--count")] = 1) -> None:
        seen.extend([name, where, count])

    @app.command("two")
    @grouped
    def two(platform: OnCluster) -> None:
        seen.append(platform)

    return app


def test_the_group_options_stand_in_its_place_and_it_is_built_from_them() -> None:
    seen: list[object] = []
    app = _app(seen)
    command = typer.main.get_group(app).commands["one"]
    names = [p.name for p in command.params]
    assert names == ["name", "file", "kubeconfig", "context", "loud", "count"]
    result = CliRunner().invoke(app, ["one", "x", "--context", "lab", "--loud", "--count", "2",
                                      "-f", "p.yaml"])
    assert result.exit_code == 0, result.output
    assert seen == ["x", Where(Path("p.yaml"), Connection(None, "lab"), True), 2]


def test_defaults_are_the_groups_own() -> None:
    seen: list[object] = []
    assert CliRunner().invoke(_app(seen), ["two"]).exit_code == 0
    assert seen == [OnCluster(DEFAULT_PLATFORM_FILE, Connection())]


def test_a_group_checks_its_flags_together() -> None:
    with pytest.raises(InputError, match="--live changes the cluster only: choose one"):
        Day2(apply=True, live=True)
