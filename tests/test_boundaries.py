"""Which package runs which program: skopeo only in kfops.airgap, kustomize and git only in
kfops.render (import-linter keeps `subprocess` itself inside those two packages)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "kfops"
OWNERS = {"skopeo": "airgap", "kustomize": "render", "git": "render", "kubectl": "render"}
_LAUNCHERS = {"which", "run", "Popen", "check_output", "check_call", "call"}


def _programs(tree: ast.AST) -> set[str]:
    """Programs named literally as the first argument of shutil.which or a subprocess call."""
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in _LAUNCHERS and node.args):
            continue
        first = node.args[0]
        if isinstance(first, ast.List | ast.Tuple) and first.elts:
            first = first.elts[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.add(first.value)
    return found


def _launches() -> list[tuple[str, str]]:
    return sorted((program, str(path.relative_to(SRC))) for path in SRC.rglob("*.py")
                  for program in _programs(ast.parse(path.read_text(encoding="utf-8"))))


def test_each_program_is_run_by_its_package_only() -> None:
    launches = _launches()
    assert {program for program, _ in launches} >= {"skopeo", "kustomize", "git"}
    strays = [(program, module) for program, module in launches
              if program in OWNERS and module.split("/")[0] != OWNERS[program]]
    assert strays == []


@pytest.mark.parametrize("code", ['shutil.which("skopeo")', 'subprocess.run(["skopeo", "copy"])'])
def test_a_launch_is_seen(code: str) -> None:
    assert _programs(ast.parse(code)) == {"skopeo"}
