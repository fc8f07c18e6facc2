"""The command line: flags to library calls, messages, exit codes, no tracebacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer

from kfops.cli import main
from kfops.cli._app import app
from tests.conftest import MANIFESTS


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_bad_config_exits_2_with_one_line_per_problem_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n  target: local\n"
                    "  components:\n    katib: yes\n    katbi: true\n")
    code, out, err = run(capsys, "render", "-f", str(path))
    assert code == 2
    assert out == ""
    assert 'platform.yaml:6 spec.components.katib: expected true or false, got "yes"' in err
    assert 'platform.yaml:7 spec.components.katbi: unknown key "katbi" (did you mean "katib"?)' \
        in err
    assert "Traceback" not in err
    assert not (tmp_path / "bundle").exists()


def test_unknown_flag_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "render", "--no-such-flag")
    assert code == 2
    assert "No such option" in err


def test_render_writes_the_bundle_and_json_summary(
    platform_file: Callable[..., Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = platform_file("26.03")
    code, out, _ = run(capsys, "render", "-f", str(path), "--offline", "-o", "json")
    assert code == 0
    summary = json.loads(out)
    assert summary["bundle"] == str(tmp_path / "bundle")
    assert summary["objects"] == 672
    assert {c["name"] for c in summary["components"]} >= {"istio", "dex", "kserve", "katib"}
    assert set(summary["timings"]) == {"prepare", "build", "parse", "assemble", "validate",
                                      "write"}
    assert (tmp_path / "bundle" / "kfops.lock").is_file()
    code, out, _ = run(capsys, "validate", "--bundle", str(tmp_path / "bundle"), "-o", "json")
    assert (code, json.loads(out)["objects"]) == (0, 672)
    code, out, _ = run(capsys, "validate", "-f", str(path), "--offline", "-o", "json")
    assert (code, json.loads(out)["valid"]) == (0, True)


def test_validate_bundle_exits_2_on_a_broken_object(
    platform_file: Callable[..., Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = platform_file("26.03")
    assert run(capsys, "render", "-f", str(path), "--offline", "-o", "json")[0] == 0
    katib = tmp_path / "bundle" / "30-platform" / "katib.yaml"
    katib.write_text(katib.read_text().replace("\n  replicas: 1\n", "\n  replicas: one\n", 1))
    code, _, err = run(capsys, "validate", "--bundle", str(tmp_path / "bundle"))
    assert code == 2
    assert 'spec.replicas: expected an integer, got "one"' in err


def test_render_never_replaces_a_folder_that_is_not_a_bundle(
    platform_file: Callable[..., Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "render", "-f", str(platform_file("26.03")), "--offline",
                       "--out", str(keep), "-o", "json")
    assert code == 1
    assert "is not a kfops bundle" in err
    assert (keep / "notes.txt").read_text() == "mine"


def test_schema_is_json_schema_of_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0
    assert schema["$schema"].endswith("2020-12/schema")
    spec = schema["$defs"]["Spec"]["properties"]
    assert {"target", "kubernetesVersion", "components", "airgap"} <= set(spec)


def test_init_writes_each_target_and_keeps_state_out_of_git(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for target in ("local", "onprem", "aks", "generic"):
        path = tmp_path / target / "platform.yaml"
        assert run(capsys, "init", "--target", target, "-f", str(path))[0] == 0
        assert path.read_text().startswith("# kfops platform file")
        assert (path.parent / ".gitignore").read_text() == ".kfops/\nbundle/secrets/\n"
    code, _, err = run(capsys, "init", "--target", "local", "-f", str(tmp_path / "local" /
                                                                      "platform.yaml"))
    assert code == 2 and "exists; pass --force" in err
    assert run(capsys, "init", "--target", "cloud", "-f", str(tmp_path / "x.yaml"))[0] == 2


@pytest.mark.parametrize("target", ["onprem", "aks", "generic"])
def test_placeholders_of_a_starter_stop_the_render(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "platform.yaml"
    run(capsys, "init", "--target", target, "-f", str(path))
    code, _, err = run(capsys, "render", "-f", str(path), "--offline")
    assert code == 2
    assert "placeholder left in: fill in" in err
    assert "spec.ingress.host: placeholder left in: fill in the DNS name users open" in err


def test_the_bundled_example_names_the_upstream_snapshot() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "platform.yaml"
    text = example.read_text()
    assert "../../shared/upstream/kubeflow-manifests/26.03" in text
    assert (example.parent / "../../shared/upstream/kubeflow-manifests/26.03").resolve() == \
        (MANIFESTS / "26.03").resolve()


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the app: ("apply",), ("profile", "contributor", "add"), ..."""
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if hasattr(command, "commands"):  # a group (typer's own, not click.Group)
            found += _commands(command, (*prefix, name))
    return found


COMMANDS = _commands(typer.main.get_group(app))


def test_the_app_has_every_documented_command() -> None:
    assert {"render", "apply", "plan", "status", "uninstall", "check", "schema", "init",
            "validate"} <= {c[0] for c in COMMANDS}
    assert ("images", "mirror") in COMMANDS and ("profile", "contributor", "add") in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_of_every_command(command: tuple[str, ...],
                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *command, "--help")

    assert (code, err) == (0, "")
    assert out.startswith(f"Usage: kfops {' '.join(command)}")
    # Flags show as flags, with no type beside them.
    assert "<bool>" not in out


@pytest.mark.parametrize("argv", [
    ("render", "--out", "{file}", "--offline"),
    ("aks", "script", "--out", "{folder}"),
    ("images", "save", "{file}", "--images", "{file}"),
    ("bundle", "create", "{folder}"),
])
def test_an_output_path_of_the_wrong_kind_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    existing = tmp_path / "existing.txt"
    existing.write_text("mine\n")
    args = [a.format(file=existing, folder=tmp_path) for a in argv]

    code, _, err = run(capsys, *args)

    assert (code, "Traceback" in err) == (2, False), err
    assert "Invalid value" in err
    assert existing.read_text() == "mine\n"
