"""Test tiers: the markers each test gets from what it reaches, and the guard that holds it to them.

- `render`: runs kustomize (on the real upstream manifests): reaches `kfops.render.render` or
  `find_kustomize`.
- `emulator`: runs the Kubernetes API emulator (tests/emulator), in this process or another.
- `registry`: the local network standing in for the world: Debian's docker-registry servers
  and skopeo, the stand-in GitHub, a TLS server, a port found free (and left closed), the S3
  (moto) and Azure Blob (Azurite) servers, MariaDB.
- `realcluster`: everything in tests/realcluster (marked by its own conftest; its `render`
  markers set by hand, and the guard leaves it alone: it needs the whole real stack).
- `unit`: none of these.

What a test reaches is read from code, not declared by hand: the names its function, the
helpers of its class it calls (`self.helper()`) and its fixtures use (in their code and in
their parameters' types, whose methods they may call), followed through the
functions and classes of kfops and of tests/ (a module's attributes too, so
`presets.render_preset` counts, and modules imported inside a function). The CLI is followed
through typer's registry: a test that runs `kfops` (in process, or `-m kfops` in another)
reaches each command whose words (`render`; `images`, `mirror`) are all strings of one function
it reaches, or its parameters. The reading errs towards more tiers: a command refused before
it renders, or a name that merely resembles one, still counts.

The guard makes the markers honest whatever the reading missed: a test without `render` finds
a kustomize that fails and records that it ran (KFOPS_KUSTOMIZE reaches child processes too);
a `unit` test cannot connect or bind an IP socket. Either use fails the test at teardown,
however the test handled the error. tests/test_tiers.py tests both halves.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import CodeType, FunctionType, ModuleType
from typing import Any

import pytest
import typer

import kfops.airgap
import kfops.cli
import kfops.cli._app
import kfops.render
import kfops.render._kustomize
import tests.emulator
import tests.helpers.azurite
import tests.helpers.cli
import tests.helpers.github
import tests.helpers.mariadb
import tests.helpers.oci
import tests.helpers.s3_server
import tests.helpers.tls

#: The tiers a test can reach besides `unit` and `realcluster`.
TIERS = ("render", "emulator", "registry")
#: What puts a test in a tier when reached.
ROOTS: dict[int, str] = {id(o): tier for tier, objects in {
    "render": (kfops.render.render, kfops.render._kustomize.find_kustomize),
    "emulator": (tests.emulator.RunningEmulator,),
    "registry": (tests.helpers.oci.running_registry, tests.helpers.oci.push, kfops.airgap.Skopeo,
                 tests.helpers.github.serve, tests.helpers.tls.wrong_name_server,
                 tests.helpers.oci.free_port, tests.helpers.s3_server.running_moto,
                 tests.helpers.azurite.running_azurite, tests.helpers.mariadb.running_mariadb),
}.items() for o in objects}
#: Strings that start a tier in another process (`python -m tests.emulator`).
ROOT_STRINGS = {"tests.emulator": "emulator"}
#: Running kfops's CLI: in this process, or in another (`python -m kfops`, the `kfops` script).
CLI = {id(kfops.cli.main), id(tests.helpers.cli.kfops)}
CLI_STRING = "kfops"
OURS = ("kfops", "tests")
REALCLUSTER = Path(__file__).resolve().parent / "realcluster"


def tiers_of(item: pytest.Item) -> set[str]:
    """The tiers (of TIERS) that `item` reaches through its code, fixtures and parameters."""
    starts: list[object] = []
    function = getattr(item, "function", None)
    if function is not None:
        starts.append(function)
        cls = getattr(item, "cls", None)
        if cls is not None:
            starts.extend(_helpers_in_class(cls, function))
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is not None:
        for definitions in fixture_info.name2fixturedefs.values():
            starts.extend(d.func for d in definitions if d.func is not None)
    callspec = getattr(item, "callspec", None)
    parameters = frozenset(_strings(callspec.params.values())) if callspec is not None else None
    return set(_reach(tuple(starts), parameters))


def _helpers_in_class(cls: type, method: object) -> list[object]:
    """The members of a test class that `method` uses (`self.helper()`), and theirs."""
    members = dict(vars(cls))
    found: list[object] = []
    pending = [method]
    while pending:
        function = _function(pending.pop())
        if function is None:
            continue
        names, _ = _code_names(function.__code__)
        for name in sorted(names & members.keys()):
            member = members.pop(name)
            if isinstance(member, property):
                member = member.fget
            elif isinstance(member, staticmethod | classmethod):
                member = member.__func__
            if inspect.isfunction(member):
                found.append(member)
                pending.append(member)
    return found


@functools.cache  # many tests share their code, fixtures and parameters
def _reach(starts: tuple[object, ...], parameters: frozenset[str] | None) -> frozenset[str]:
    """The tiers whose roots the objects `starts` name, directly or through others, reach."""
    tiers: set[str] = set()
    #: The strings of each test function met (and the parameters): the words of a command line.
    groups: set[frozenset[str]] = {parameters} if parameters else set()
    seen: set[int] = set()
    cli = False
    frontier = list(starts)
    while frontier:
        while frontier:
            current = frontier.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if id(current) in ROOTS:
                tiers.add(ROOTS[id(current)])
            cli = cli or id(current) in CLI
            references, strings = _edges(current)
            frontier.extend(references)
            if strings:
                groups.add(strings)
        if cli or any(CLI_STRING in g for g in groups):
            # The commands named by the strings met so far (a command's own code names none).
            frontier.extend(c for c in _commands(groups) if id(c) not in seen)
    tiers |= {ROOT_STRINGS[s] for g in groups for s in g if s in ROOT_STRINGS}
    return frozenset(tiers)


Edges = tuple[tuple[object, ...], frozenset[str]]
#: The edges of each object met so far, by id (not every object is hashable), with the object
#: itself: kept alive, its id is never another's.
_EDGES: dict[int, tuple[object, Edges]] = {}


def _edges(current: object) -> Edges:
    """What `current` names (of kfops and tests), and its strings if it is a test's code."""
    if id(current) not in _EDGES:
        _EDGES[id(current)] = (current, _read_edges(current))
    return _EDGES[id(current)][1]


def _read_edges(current: object) -> Edges:
    """A class's members; a function's globals, module attributes and closure, of ours."""
    if isinstance(current, type):
        return _class_edges(current), frozenset()
    function = _function(current)
    if function is None:
        return (), frozenset()
    names, strings = _code_names(function.__code__)
    # The types of its parameters: what a method call on one (`mode.change(...)`) may run.
    annotations = function.__annotations__.values()
    names |= {word for annotation in annotations if isinstance(annotation, str)
              for word in re.findall(r"[A-Za-z_]\w*", annotation)}
    found: list[object] = [a for a in annotations if isinstance(a, type)]
    namespace = function.__globals__
    for name in names:
        # A global, or a module imported inside the function (`from kfops.cli import main`).
        value = namespace.get(name, sys.modules.get(name))
        if isinstance(value, ModuleType):
            if value.__name__.split(".")[0] in OURS:
                found.extend(getattr(value, n) for n in names if hasattr(value, n))
        elif value is not None:
            found.append(value)
    for cell in function.__closure__ or ():
        try:
            found.append(cell.cell_contents)
        except ValueError:  # a cell not filled yet
            continue
    own = tuple(o for o in found if _ours(o))
    test_code = not _module(function).startswith("kfops")  # kfops's own strings name nothing
    return own, frozenset(strings) if test_code else frozenset()


def _class_edges(cls: type) -> tuple[object, ...]:
    members: list[object] = []
    for value in vars(cls).values():
        if isinstance(value, staticmethod | classmethod):
            members.append(value.__func__)
        elif isinstance(value, property):
            members.extend(f for f in (value.fget, value.fset) if f is not None)
        elif inspect.isfunction(value) or isinstance(value, type):
            members.append(value)
    members.extend(base for base in cls.__mro__[1:] if _ours(base))
    return tuple(members)


def _function(current: object) -> FunctionType | None:
    if isinstance(current, functools.partial):
        current = current.func
    handle = getattr(current, "hypothesis", None)  # a @given test: the test it wraps
    if handle is not None and hasattr(handle, "inner_test"):
        current = handle.inner_test
    unwrapped = inspect.unwrap(current) if callable(current) else current
    return unwrapped if isinstance(unwrapped, FunctionType) else None


def _code_names(code: CodeType) -> tuple[set[str], set[str]]:
    """Global and attribute names `code` uses, and its string constants (nested code too)."""
    names, strings = set(code.co_names), set()
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            inner_names, inner_strings = _code_names(constant)
            names |= inner_names
            strings |= inner_strings
        else:
            strings |= set(_strings([constant]))
    return names, strings


def _strings(values: Iterable[object]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, tuple | list | frozenset | set):
            yield from _strings(value)


def _module(value: object) -> str:
    return str(getattr(value, "__module__", "") or "")


def _ours(value: object) -> bool:
    if not (isinstance(value, type) or callable(value)) or isinstance(value, ModuleType):
        return False
    return _module(value).split(".")[0] in OURS


@functools.cache
def _command_table() -> dict[tuple[str, ...], tuple[Callable[..., Any], ...]]:
    """The words of each kfops command (`render`; `images`, `list`) and its callback."""
    table: dict[tuple[str, ...], tuple[Callable[..., Any], ...]] = {}

    def walk(app: typer.Typer, words: tuple[str, ...]) -> None:
        for command in app.registered_commands:
            if command.callback is not None:
                name = command.name or command.callback.__name__.replace("_", "-")
                table[(*words, name)] = (command.callback,)
        for group in app.registered_groups:
            if group.typer_instance is not None and group.name is not None:
                walk(group.typer_instance, (*words, group.name))

    walk(kfops.cli._app.app, ())
    return table


def _commands(groups: Iterable[frozenset[str]]) -> list[Callable[..., Any]]:
    """The callbacks of the commands all of whose words are in one of `groups`."""
    return [callback for words, callbacks in _command_table().items()
            if any(g.issuperset(words) for g in groups) for callback in callbacks]


def mark_tiers(items: list[pytest.Item]) -> None:
    """Give every test the tiers it reaches; `unit` to those that reach none."""
    for item in items:
        if _in_realcluster(item):
            continue  # all `realcluster` (tests/realcluster/conftest.py), as they were
        for tier in sorted(tiers_of(item)):
            if item.get_closest_marker(tier) is None:
                item.add_marker(tier)
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker("unit")


def _in_realcluster(item: pytest.Item) -> bool:
    return REALCLUSTER in item.path.parents


class TierViolation(Exception):
    """A test used what its tiers deny (raised at its teardown)."""


class SocketDenied(OSError):
    """A unit test tried to connect or bind an IP socket (an OSError: callers clean up)."""


KUSTOMIZE_STAND_IN = """#!/bin/sh
# kustomize for tests outside the render tier (tests/tiers.py): records that it ran, then fails
echo "$*" >>"$KFOPS_TIERS_KUSTOMIZE_LOG"
echo "kustomize is not available outside the render tier (tests/tiers.py)" >&2
exit 97
"""
IP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class Guard:
    """Holds each test to its tiers while it runs (its fixtures of every scope included)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.kustomize = folder / "kustomize"
        self.kustomize.write_text(KUSTOMIZE_STAND_IN)
        self.kustomize.chmod(0o755)
        self.log = folder / "kustomize-runs.log"
        self.denied: list[str] = []

    @contextlib.contextmanager
    def holding(self, item: pytest.Item) -> Iterator[None]:
        """Run `item` with what its tiers deny denied (and recorded), and nothing else."""
        self.denied.clear()
        self.log.unlink(missing_ok=True)
        with pytest.MonkeyPatch.context() as patch:
            if _in_realcluster(item):  # the whole real stack, its kustomize chosen per test
                patch.delenv("KFOPS_KUSTOMIZE", raising=False)
            elif item.get_closest_marker("render") is None:
                patch.setenv("KFOPS_KUSTOMIZE", str(self.kustomize))
                patch.setenv("KFOPS_TIERS_KUSTOMIZE_LOG", str(self.log))
            else:  # the kustomize kfops finds itself, never the user's own
                patch.delenv("KFOPS_KUSTOMIZE", raising=False)
            if item.get_closest_marker("unit") is not None:
                for method in ("connect", "connect_ex", "bind"):
                    patch.setattr(socket.socket, method,
                                  self._refusing(getattr(socket.socket, method), method))
            yield

    def check(self, item: pytest.Item) -> None:
        """Fail `item` if it used what its tiers deny, however it handled the refusal."""
        ran = self.log.read_text().splitlines() if self.log.exists() else []
        used = [*self.denied, *(f"kustomize {args}" for args in ran)]
        if used:
            tiers = sorted(m.name for m in item.iter_markers() if m.name in (*TIERS, "unit"))
            raise TierViolation(
                f"{item.nodeid} (tiers: {', '.join(tiers)}) used what its tiers deny: "
                f"{'; '.join(used)}. tests/tiers.py gives a test its tiers from the code it "
                "reaches: let it reach the helper that starts what it uses")

    def _refusing(self, original: Callable[..., Any], method: str) -> Callable[..., Any]:
        denied = self.denied

        def refuse(sock: socket.socket, address: Any) -> Any:
            if sock.family not in IP_FAMILIES:
                return original(sock, address)
            denied.append(f"socket.{method}({address!r})")
            raise SocketDenied(f"a unit test may not {method} an IP socket ({address!r})")

        return refuse
