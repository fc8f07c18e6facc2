"""Repairs of known upstream defects, named by the catalog, applied in kfops's overlay.

Each repair returns kustomize `patches` entries for the unit overlay, so the
upstream files stay untouched and the repair shows in the generated overlay.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kfops.errors import RenderError


def _example_profile_params(release: Path, path: str) -> list[dict[str, Any]]:
    """v1.10's example Profile takes its name and owner from params.env through
    `replacements` that select the Profile by the name `$(profile-name)`;
    kustomize 5.8 no longer matches that selector and leaves the variables in
    (an invalid name). The values are read from the release's params.env and
    patched in directly, and the helper ConfigMap, which has no namespace and
    only fed those replacements, is left out.
    """
    params = _env_file(release / path / "params.env")
    try:
        name, owner = params["profile-name"], params["user"]
    except KeyError as missing:
        raise RenderError(
            f"{path}/params.env has no {missing}; the repair does not apply") from None
    return [
        {"target": {"group": "kubeflow.org", "kind": "Profile"},
         "patch": _ops(("replace", "/metadata/name", name),
                       ("replace", "/spec/owner/name", owner))},
        {"target": {"version": "v1", "kind": "ConfigMap",
                    "name": "^default-install-config(-[a-z0-9]+)?$"},
         "patch": "$patch: delete\napiVersion: v1\nkind: ConfigMap\n"
                  "metadata:\n  name: default-install-config\n"},
    ]


def _env_file(file: Path) -> dict[str, str]:
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise RenderError(f"cannot read {file}: {error}") from None
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _ops(*operations: tuple[str, str, str]) -> str:
    return "".join(f"- op: {op}\n  path: {where}\n  value: {value}\n"
                   for op, where, value in operations)


REPAIRS: dict[str, Callable[[Path, str], list[dict[str, Any]]]] = {
    "example-profile-params": _example_profile_params,
}


def repair_patches(names: tuple[str, ...], release: Path, path: str) -> list[dict[str, Any]]:
    """The overlay patches of the named repairs for one upstream path."""
    patches: list[dict[str, Any]] = []
    for name in names:
        if name not in REPAIRS:
            raise RenderError(f"the catalog names an unknown repair {name!r}")
        patches += REPAIRS[name](release, path)
    return patches
