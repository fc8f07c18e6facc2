"""Options shared by several commands."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


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
