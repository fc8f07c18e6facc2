"""`kfops aks script`: shellcheck-clean, ordered, and idempotent against recording stand-ins."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kfops.aks import aks_script, write_script
from kfops.cli import main
from kfops.config import parse_platform
from kfops.errors import InputError
from kfops.targets import starter_text
from tests.helpers.presets import fill

STUB = Path(__file__).resolve().parent.parent / "helpers" / "azure_stub.py"
CREATES = [
    "az group create --name kubeflow",
    "az aks create --name kubeflow",
    "az identity create --name karpentermsi",
    "az identity federated-credential create --name KARPENTER_FID",
    "az role assignment create --role Virtual Machine Contributor",
    "az role assignment create --role Network Contributor",
    "az role assignment create --role Managed Identity Operator",
    "helm upgrade --install karpenter",
]


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "entra-secret-from-env")
    path = tmp_path / "platform.yaml"
    path.write_text(fill(starter_text("aks")))
    return path


def script_for(platform: Path, mode: str, folder: Path) -> Path:
    loaded = parse_platform(platform.read_text(), platform)
    script = folder / f"aks-{mode}.sh"
    script.write_text(aks_script(loaded, "auto" if mode == "auto" else "karpenter"))
    return script


def stubs(folder: Path) -> dict[str, str]:
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    for tool in ("az", "kubectl", "helm"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" {tool} "$@"\n')
        wrapper.chmod(0o755)
    state = folder / "stub-state"
    state.mkdir()
    home = folder / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh/id_rsa.pub").write_text("ssh-rsa AAAAB3Nza-public-key\n")
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STUB_STATE": str(state),
            "HOME": str(home)}


def calls(env: dict[str, str]) -> list[str]:
    """Each recorded call as `tool words... --name/--role value`, for order checks."""
    lines = []
    for raw in (Path(env["STUB_STATE"]) / "calls.log").read_text().splitlines():
        argv = json.loads(raw)
        words = [a for a in argv if not a.startswith("-")][:4]
        words = words[:3] if argv[0] != "az" else [w for w in words if w not in (
            "kubeflow", "karpentermsi")][:5]
        for flag in ("--name", "--role"):
            if flag in argv and argv[0] == "az":
                words = [*words[:words.index(words[-1]) + 1], flag, argv[argv.index(flag) + 1]]
                break
        if argv[:3] == ["helm", "upgrade", "--install"]:
            words = ["helm", "upgrade", "--install", argv[3]]
        lines.append(" ".join(words))
    (Path(env["STUB_STATE"]) / "calls.log").unlink()
    return lines


def run(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True,
                          check=False)


@pytest.mark.parametrize("mode", ["karpenter", "auto"])
def test_script_is_strict_and_shellcheck_clean(platform: Path, tmp_path: Path, mode: str) -> None:
    script = script_for(platform, mode, tmp_path)
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
    subprocess.run(["bash", "-n", str(script)], check=True)
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed: run scripts/install-system-deps")
    result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout
    assert "00000000-0000-0000-0000-000000000000" in text  # from spec.azure
    # No secret of the platform file, and the bootstrap token only as read at run time.
    assert "entra-secret-from-env" not in text
    assert 'KUBELET_BOOTSTRAP_TOKEN, value: "$TOKEN_ID.$TOKEN_SECRET"' in text or mode == "auto"


def test_karpenter_script_runs_in_order_then_changes_nothing(platform: Path,
                                                             tmp_path: Path) -> None:
    script = script_for(platform, "karpenter", tmp_path)
    env = stubs(tmp_path)
    first = run(script, env)
    assert first.returncode == 0, first.stderr
    made = calls(env)
    creates = [c for c in made if " create " in f"{c} " or c.startswith("helm upgrade")]
    assert [c.split(" --")[0] for c in creates] == [c.split(" --")[0] for c in CREATES]
    assert creates[0].endswith("--name kubeflow")
    assert len(creates) == len(set(creates))
    assert made.index("az aks get-credentials --name kubeflow") < made.index(
        "az identity show --name karpentermsi")
    values = json.loads((Path(env["STUB_STATE"]) / "values.json").read_text())
    # The bootstrap token went to a file only the user could read, deleted afterwards.
    assert values == {"path": values["path"], "mode": "0o600", "token": True, "policy": True,
                      "ssh": True}
    assert not Path(values["path"]).exists()
    second = run(script, env)
    assert second.returncode == 0, second.stderr
    again = calls(env)
    assert [c for c in again if " create " in f"{c} " or c.startswith("helm upgrade")] == []
    assert "Karpenter 1.14.2 is installed" in second.stdout


def test_karpenter_is_not_installed_with_a_value_missing(platform: Path, tmp_path: Path) -> None:
    script = script_for(platform, "karpenter", tmp_path)
    env = stubs(tmp_path)
    (Path(env["HOME"]) / ".ssh/id_rsa.pub").unlink()
    failed = run(script, env)
    assert failed.returncode == 1 and "no SSH public key" in failed.stderr
    assert not any(c.startswith("helm upgrade") for c in calls(env))


def test_auto_provisioning_script_has_no_karpenter_install(platform: Path,
                                                           tmp_path: Path) -> None:
    script = script_for(platform, "auto", tmp_path)
    env = stubs(tmp_path)
    assert run(script, env).returncode == 0
    log = [json.loads(line) for line in (Path(env["STUB_STATE"]) / "calls.log")
           .read_text().splitlines()]
    [create] = [argv for argv in log if argv[:3] == ["az", "aks", "create"]]
    assert create[create.index("--node-provisioning-mode") + 1] == "Auto"
    assert {"--network-plugin-mode", "--network-dataplane", "--enable-oidc-issuer",
            "--enable-workload-identity"} <= set(create)
    assert not any(argv[0] == "helm" or argv[1] == "identity" for argv in log)


def test_cli_prints_or_writes_the_script(platform: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The cluster comes before the Entra app: the connector's secret is not needed yet.
    monkeypatch.delenv("ENTRA_CLIENT_SECRET")
    assert main(["aks", "script", "-f", str(platform)]) == 0
    assert capsys.readouterr().out.startswith("#!/usr/bin/env bash\n")
    out = tmp_path / "bootstrap.sh"
    assert main(["aks", "script", "-f", str(platform), "--node-provisioning", "auto",
                 "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o755
    assert "--node-provisioning-mode Auto" in out.read_text()
    assert main(["aks", "script", "-f", str(platform), "--node-provisioning", "magic"]) == 2


def test_a_written_script_is_executable_and_a_bad_place_is_named(tmp_path: Path) -> None:
    script = tmp_path / "bootstrap.sh"
    write_script(script, "#!/usr/bin/env bash\ntrue\n")
    assert script.read_text() == "#!/usr/bin/env bash\ntrue\n"
    assert script.stat().st_mode & 0o777 == 0o755
    with pytest.raises(InputError, match=r"^cannot write .*/missing/bootstrap\.sh: No such file"):
        write_script(tmp_path / "missing" / "bootstrap.sh", "")
