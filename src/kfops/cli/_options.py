"""Options shared by several commands, and the groups of them that commands share.

An option group is a frozen dataclass whose fields are typer options; a command
decorated with `grouped` takes the group as one parameter, and typer sees its
fields as options in the place of that parameter, so every command that takes
the group has the same flags, with the same help and defaults.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import shlex
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from kfops.cluster import Cluster
from kfops.config import DEFAULT_PLATFORM_FILE

R = TypeVar("R")


def command_group(help_text: str, **settings: object) -> typer.Typer:
    """A group of commands whose help is plain text.

    Rich markup is off: a help text naming `[path]` must print as written, and
    flags show as flags, without a `<bool>` type beside them.
    """
    options: dict[str, object] = {"no_args_is_help": True, "rich_markup_mode": None,
                                  "add_completion": False, "pretty_exceptions_enable": False}
    return typer.Typer(help=help_text, **{**options, **settings})  # type: ignore[arg-type]


class Output(StrEnum):
    """Output format of read commands."""

    text = "text"
    json = "json"


FileOption = Annotated[Path, typer.Option("--file", "-f", help="The platform file.")]
OutputOption = Annotated[Output, typer.Option("--output", "-o", help="text or json.")]
OfflineOption = Annotated[bool, typer.Option(
    "--offline", help="Never fetch: release archive and remote bases must be in the cache.")]
KubeconfigOption = Annotated[Path | None, typer.Option(
    "--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster).")]
ContextOption = Annotated[str | None, typer.Option(
    "--context", help="Kubeconfig context (default: the current one).")]
NoWaitOption = Annotated[bool, typer.Option(
    "--no-wait", help="Exit 1 instead of waiting when another kfops command is editing the "
                      "platform file or applying to the same install.")]
AllowPathsOption = Annotated[bool, typer.Option(
    "--allow-paths-outside",
    help="Let paths in the platform file ({file}, source, release.source, remoteCache) point "
         "outside its folder; /dev, /proc, /sys and non-regular files stay refused.")]
CrdsOption = Annotated[list[Path] | None, typer.Option(
    "--crds", help="Extra folder or file of CRDs to validate custom resources against "
                   "(repeatable), e.g. Karpenter's or MetalLB's.")]


class OptionGroup:
    """Base of the option groups: dataclasses of options that `grouped` spreads out."""


def _is_group(hint: object) -> bool:
    return isinstance(hint, type) and issubclass(hint, OptionGroup)


def _options_of(group: type[OptionGroup]) -> list[inspect.Parameter]:
    """The options of `group` as parameters, in field order, nested groups spread in place."""
    hints = typing.get_type_hints(group, include_extras=True)
    options: list[inspect.Parameter] = []
    for option in dataclasses.fields(group):  # type: ignore[arg-type]
        hint = hints[option.name]
        if _is_group(hint):
            options += _options_of(hint)
        else:
            options.append(inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY,
                                             default=option.default, annotation=hint))
    return options


def _gather(group: type[OptionGroup], values: dict[str, Any]) -> OptionGroup:
    """The `group` built from (and taken out of) the parsed option `values`."""
    hints = typing.get_type_hints(group, include_extras=True)
    return group(**{option.name: _gather(hints[option.name], values)
                    if _is_group(hints[option.name]) else values.pop(option.name)
                    for option in dataclasses.fields(group)})  # type: ignore[arg-type]


def grouped(command: Callable[..., R]) -> Callable[..., R]:
    """`command` as typer should see it: each parameter typed as an option group becomes the
    group's options, in its place; the command still receives the group, built from them."""
    hints = typing.get_type_hints(command, include_extras=True)
    groups = {name: hint for name, hint in hints.items() if _is_group(hint)}
    parameters: list[inspect.Parameter] = []
    for parameter in inspect.signature(command).parameters.values():
        if parameter.name in groups:
            parameters += _options_of(groups[parameter.name])
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY,
                                                annotation=hints[parameter.name]))

    @functools.wraps(command, updated=())
    def parsed(**values: Any) -> R:
        built = {name: _gather(group, values) for name, group in groups.items()}
        return command(**values, **built)

    parsed.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    parsed.__annotations__ = {p.name: p.annotation for p in parameters}
    del parsed.__wrapped__  # nothing may read the old signature through it
    return parsed


@dataclass(frozen=True)
class Connection(OptionGroup):
    """Which cluster: a kubeconfig file and context (defaults as kubectl's)."""

    kubeconfig: KubeconfigOption = None
    context: ContextOption = None

    def connect(self) -> Cluster:
        """A client of the cluster, which has answered once: a wrong address, host or
        certificate stops the command here, before it prints or renders anything."""
        cluster = Cluster.connect(self.kubeconfig, self.context)
        try:
            cluster.reach()
        except BaseException:  # any exit (Ctrl-C too) closes the connections; re-raised
            cluster.close()
            raise
        return cluster

    def apply_command(self, file: Path) -> str:
        """The `kfops apply` command line for `file` on this cluster."""
        return shlex.join(["kfops", "apply", "-f", str(file),
                           *(["--kubeconfig", str(self.kubeconfig)] if self.kubeconfig else []),
                           *(["--context", self.context] if self.context else [])])


@dataclass(frozen=True)
class OnCluster(OptionGroup):
    """A platform file and the cluster a command reads or changes."""

    file: FileOption = DEFAULT_PLATFORM_FILE
    connection: Connection = field(default_factory=Connection)
