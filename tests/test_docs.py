"""Every `kfops` command the README and the guides show exists, with the flags they give it."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from kfops.cli._app import app
from tests.conftest import ROOT

DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_FENCE = re.compile(r"^```(\w*)\s*$")


def _shell_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, command) of the shell code blocks, continuation lines joined."""
    in_shell, pending, start = False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        fence = _FENCE.match(line.strip())
        if fence:
            in_shell = not in_shell and fence.group(1) in ("sh", "bash", "console", "shell")
            continue
        if not in_shell:
            continue
        if not pending:
            start = number
        pending += line.rstrip("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            yield start, pending.strip()
            pending = ""


def _kfops_calls(command: str) -> Iterator[list[str]]:
    """The argument lists of every kfops call in a shell line (pipes and && split it)."""
    try:
        words = shlex.split(command.lstrip("$ "), comments=True)
    except ValueError:
        return
    call: list[str] | None = None
    first = True  # the word is where a command starts
    for word in [*words, "|"]:
        if word in ("|", "&&", "||", ";", "&"):
            if call is not None:
                yield call
            call, first = None, True
            continue
        if call is not None:
            call.append(word)
            continue
        if first and re.match(r"^[A-Z_][A-Z0-9_]*=", word):
            continue  # an environment setting before the command
        if first and (word == "kfops" or word.endswith("/kfops")):
            call = []
        first = False


def _documented_calls() -> list[tuple[str, list[str]]]:
    calls = []
    for document in DOCUMENTS:
        for number, line in _shell_lines(document.read_text(encoding="utf-8")):
            for call in _kfops_calls(line):
                calls.append((f"{document.name}:{number}", call))
    return calls


CALLS = _documented_calls()


def _resolve(arguments: list[str]) -> tuple[Any, list[str], str]:
    """(the command the arguments name, the arguments left for it, its full name)."""
    command: Any = typer.main.get_group(app)
    name = ["kfops"]
    rest = list(arguments)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        assert rest[0] in command.commands, f"{' '.join(name)} has no command {rest[0]}"
        name.append(rest[0])
        command = command.commands[rest.pop(0)]
    assert not hasattr(command, "commands"), f"{' '.join(name)} needs a subcommand"
    return command, rest, " ".join(name)


def test_the_documents_show_commands() -> None:
    assert len(CALLS) > 50
    assert {call[0] for _, call in CALLS if call} >= {"render", "apply", "plan", "user",
                                                      "profile", "images", "bundle"}


@pytest.mark.parametrize(("where", "arguments"), CALLS, ids=[w for w, _ in CALLS])
def test_a_documented_command_exists_with_its_flags(where: str, arguments: list[str]) -> None:
    command, rest, name = _resolve(arguments)
    flags = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)
             if opt.startswith("-")}
    used = {word.split("=", 1)[0] for word in rest if word.startswith("-") and word != "-"}
    assert used <= flags, f"{where}: {name} has no {sorted(used - flags)}"
