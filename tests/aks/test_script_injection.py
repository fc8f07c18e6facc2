"""Nothing a platform file says is executed by the scripts kfops writes.

Every value that reaches a script (`kfops aks script`, the GPU operator's Helm
command and install script) is first refused by the platform model (Azure's
naming rules, Kubernetes names, versions). To prove the quoting holds on its
own, the same payloads are then forced past the model (pydantic's
`model_copy` does not validate), the script is checked with `bash -n` and run
against stand-ins for az, kubectl and helm, and the marker file a payload
would create never appears.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kfops.airgap._offline_bundle import _file_name
from kfops.aks import aks_script
from kfops.config import LoadedPlatform, parse_platform
from kfops.errors import BundleArchiveError, ConfigError, InputError
from kfops.gpu import INSTALL_FILE, VALUES_FILE, install_command
from kfops.gpu._operator import _install_script
from kfops.targets import starter_text
from tests.helpers.presets import fill

STUB = Path(__file__).resolve().parent.parent / "helpers" / "azure_stub.py"
PAYLOADS = ["$(touch {x})", "`touch {x}`", "x; touch {x}", "x\ntouch {x}", "x' ; touch {x} ; '",
            'x" ; touch {x} ; "', "x && touch {x} #", "$(touch${{IFS}}{x})"]
AZURE_FIELDS = {"cluster_name": "clusterName", "resource_group": "resourceGroup",
                "location": "location", "subscription_id": "subscriptionId"}


def payloads(marker: Path) -> list[str]:
    return [p.format(x=marker) for p in PAYLOADS]


@pytest.fixture
def aks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadedPlatform:
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "entra-secret-from-env")
    path = tmp_path / "platform.yaml"
    path.write_text(fill(starter_text("aks")))
    return parse_platform(path.read_text(), path)


def stand_ins(folder: Path) -> dict[str, str]:
    """PATH with az, kubectl and helm that record their calls (tests/helpers/azure_stub.py)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("az", "kubectl", "helm"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" {tool} "$@"\n')
        wrapper.chmod(0o755)
    state = folder / "stub-state"
    state.mkdir(exist_ok=True)
    home = folder / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".ssh/id_rsa.pub").write_text("ssh-rsa AAAAB3Nza-public-key\n")
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STUB_STATE": str(state),
            "HOME": str(home)}


def run_script(script: Path, env: dict[str, str]) -> None:
    """`bash -n` must accept it; then run it (the stand-ins decide whether it succeeds)."""
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 0, checked.stderr
    subprocess.run(["bash", str(script)], env=env, cwd=script.parent, capture_output=True,
                   timeout=120, check=False)


def forced(loaded: LoadedPlatform, section: str, **values: Any) -> LoadedPlatform:
    """`loaded` with `values` set in spec.<section>, past the model's checks."""
    spec = loaded.platform.spec
    changed = getattr(spec, section).model_copy(update=values)
    platform = loaded.platform.model_copy(update={"spec": spec.model_copy(
        update={section: changed})})
    return dataclasses.replace(loaded, platform=platform)


@pytest.mark.parametrize("field", sorted(AZURE_FIELDS))
def test_the_model_refuses_every_payload_in_azure_fields(
    field: str, aks: LoadedPlatform, tmp_path: Path
) -> None:
    key = AZURE_FIELDS[field]
    for payload in payloads(tmp_path / "X"):
        # A JSON string is a YAML double-quoted scalar: the payload arrives exactly.
        line = f"    {key}: {json.dumps(payload)}"

        def literally(_: re.Match[str], line: str = line) -> str:
            return line  # a function: re.subn would read backslashes in a replacement string

        text, count = re.subn(rf"^    {key}:.*$", literally, aks.path.read_text(),
                              flags=re.MULTILINE)
        assert count == 1
        with pytest.raises(ConfigError) as caught:
            parse_platform(text, aks.path, check_references=False)
        assert [p.path for p in caught.value.problems] == [f"spec.azure.{AZURE_FIELDS[field]}"]


@pytest.mark.parametrize("mode", ["karpenter", "auto"])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_aks_script_quoting_holds_without_the_model(
    payload: str, mode: str, aks: LoadedPlatform, tmp_path: Path
) -> None:
    marker = tmp_path / "X"
    value = payload.format(x=marker)
    bad = forced(aks, "azure", **dict.fromkeys(AZURE_FIELDS, value))
    if "\n" in value:  # quoting cannot protect a comment line: the writer refuses it as well
        with pytest.raises(InputError, match="line break"):
            aks_script(bad, mode)  # type: ignore[arg-type]
        return
    text = aks_script(bad, mode)  # type: ignore[arg-type]
    assert text.count(shlex.quote(value)) >= len(AZURE_FIELDS)  # every field reached the script
    script = tmp_path / "aks.sh"
    script.write_text(text)
    run_script(script, stand_ins(tmp_path))
    assert not marker.exists(), f"{value!r} ran a command"
    if mode == "karpenter":  # the whole script ran, to helm upgrade --install at its end
        assert (tmp_path / "stub-state" / "values.json").exists()


def test_the_stand_ins_do_run_the_script(aks: LoadedPlatform, tmp_path: Path) -> None:
    """The negative above means something: a good script reaches its last step."""
    env = stand_ins(tmp_path)
    script = tmp_path / "aks.sh"
    script.write_text(aks_script(aks, "karpenter"))
    run_script(script, env)
    assert (tmp_path / "stub-state" / "values.json").exists()  # helm upgrade --install ran


GPU = "apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n  target: local\n" \
      "  gpu: {enabled: true}\n"


@pytest.mark.parametrize("field", ["operatorVersion", "taint.key", "taint.value"])
def test_the_model_refuses_every_payload_in_gpu_fields(field: str, tmp_path: Path) -> None:
    for payload in payloads(tmp_path / "X"):
        quoted = json.dumps(payload)
        setting = f"operatorVersion: {quoted}" if field == "operatorVersion" else \
            f"taint: {{{field.split('.')[1]}: {quoted}}}"
        with pytest.raises(ConfigError) as caught:
            parse_platform(GPU.replace("enabled: true", f"enabled: true, {setting}"),
                           tmp_path / "platform.yaml")
        assert [p.path for p in caught.value.problems] == [f"spec.gpu.{field}"]


@pytest.mark.parametrize("field", ["operator_version", "taint_key", "taint_value"])
def test_gpu_operator_commands_quoting_holds_without_the_model(field: str,
                                                               tmp_path: Path) -> None:
    loaded = parse_platform(GPU, tmp_path / "platform.yaml")
    marker = tmp_path / "X"
    env = stand_ins(tmp_path)
    helm_dir = tmp_path / "helm"
    helm_dir.mkdir()
    (tmp_path / VALUES_FILE).write_text("{}\n")
    for index, payload in enumerate(payloads(marker)):
        gpu = loaded.platform.spec.gpu
        if field == "operator_version":
            bad = gpu.model_copy(update={"operator_version": payload})
        else:
            taint = gpu.taint.model_copy(update={field.split("_")[1]: payload})
            bad = gpu.model_copy(update={"taint": taint})
        script = tmp_path / INSTALL_FILE
        script.write_text(_install_script(bad))
        run_script(script, env)
        command = tmp_path / f"command-{index}.sh"
        command.write_text(install_command(bad) + "\n")
        run_script(command, env)
        assert not marker.exists(), f"{field}={payload!r} ran a command"


def test_the_offline_kit_names_files_only_with_plain_names() -> None:
    """Names in the kit come from source URLs; checksums.sha256 and the instructions of
    docs/airgapped.md name them, so only plain file names are taken."""
    assert _file_name("https://example.com/v0.16.1/metallb-native.yaml") == "metallb-native.yaml"
    for url in ("https://example.com/$(touch X)", "https://example.com/a;b",
                "https://example.com/..", "https://example.com/a\nb", "https://example.com/`id`"):
        with pytest.raises(BundleArchiveError, match="not a plain file name"):
            _file_name(url)
