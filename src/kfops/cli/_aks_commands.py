"""`kfops aks script`: the bash script that creates the AKS cluster and Karpenter's identity."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kfops.aks import aks_script, write_script
from kfops.config import DEFAULT_PLATFORM_FILE, load_platform

from ._options import FileOption, command_group
from ._output import out

aks_app = command_group("Azure AKS: the cluster bootstrap script.")


@aks_app.command(name="script")
def script_command(
    file: FileOption = DEFAULT_PLATFORM_FILE,
    node_provisioning: Annotated[str, typer.Option(
        "--node-provisioning", help="karpenter (self-hosted, with Helm) or auto (AKS node "
                                    "auto-provisioning).")] = "karpenter",
    out_file: Annotated[Path | None, typer.Option(
        "--out", dir_okay=False,
        help="Write the script here (executable) instead of printing it.")] = None,
) -> None:
    """Print an idempotent bash script that creates the AKS cluster and Karpenter's identity."""
    if node_provisioning not in ("karpenter", "auto"):
        raise typer.BadParameter("expected karpenter or auto", param_hint="--node-provisioning")
    text = aks_script(load_platform(file, check_references=False),
                      "karpenter" if node_provisioning == "karpenter" else "auto")
    if out_file is None:
        typer.echo(text, nl=False)
        return
    write_script(out_file, text)
    out.print(f"wrote {out_file}; run it with bash (needs az, kubectl"
              f"{', helm' if node_provisioning == 'karpenter' else ''})", markup=False)
