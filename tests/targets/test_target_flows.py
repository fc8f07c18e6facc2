"""Every `kfops init` target through every flow an administrator runs, on the emulated cluster.

A matrix: each target's starter (placeholders filled, pointed at the upstream
snapshot) goes through `kfops render`, `apply`, `plan` after the apply (exit 0),
a re-apply (no write request at all), `doctor` (nothing found, nothing written) and a
drift that the next apply repairs.
The tests of one target share one emulated cluster and run in this order.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kfops.cluster import Cluster
from kfops.render import load_extra_crds
from tests.conftest import UPSTREAM
from tests.emulator import FaultPlan, RunningEmulator, Settings
from tests.helpers.cli import kfops
from tests.helpers.presets import fill, offline

DEVICE_PLUGIN = UPSTREAM / "prereqs/nvidia-device-plugin-v0.20.0/nvidia-device-plugin.yml"


def _device_plugin(text: str) -> str:
    """The onprem starter with its commented GPU section on, as NVIDIA's device plugin."""
    return text.replace(
        "  # gpu:                          # NVIDIA GPU nodes; `kfops check` shows whether "
        "they advertise GPUs\n  #   enabled: true\n",
        f"  gpu:\n    enabled: true\n    install: devicePlugin\n    source: {DEVICE_PLUGIN}\n"
        "    timeSlicing: {replicas: 4}\n")


#: The administrator's object-store keys (S3, Azure), read from the environment at render.
S3_KEYS = {"KFP_S3_ACCESS_KEY": "AKIAKFOPSFLOWTEST01",
           "KFP_S3_SECRET_KEY": "s3-secret-of-the-flow-test",
           "AZURE_STORAGE_KEY": base64.b64encode(b"azure-account-key-of-the-flow").decode()}


def _s3_store(text: str) -> str:
    """The starter with Pipelines' artifacts in an S3-compatible store of its own."""
    return text + (
        "  objectStore:\n    type: s3\n    endpoint: https://s3.storage.internal:9443\n"
        "    bucket: kubeflow\n    credentials: {accessKey: {env: KFP_S3_ACCESS_KEY}, "
        "secretKey: {env: KFP_S3_SECRET_KEY}}\n")


def _blob_store(text: str) -> str:
    """The AKS starter with its commented Azure Blob Storage section on."""
    section = ("  # objectStore:                  # Pipelines' artifacts in Azure Blob Storage "
               "(docs/object-store.md)\n  #   type: azureBlob\n  #   azureBlob:")
    assert section in text
    lines = [line.replace("  # ", "  ", 1) for line in section.split("\n")]
    return text.replace(section, "\n".join(lines))


def _helm_prerequisites(cluster: Cluster) -> None:
    """What Karpenter's chart (`kfops aks script`) and the GPU operator's chart install."""
    for crd in load_extra_crds([UPSTREAM / "crds/karpenter-provider-azure-v1.14.2",
                                UPSTREAM / "crds/gpu-operator-v26.7.0"]):
        cluster.apply(crd.crd)


@dataclass(frozen=True)
class Variant:
    """A starter, how the administrator changed it, and what the cluster already has."""

    target: str
    edit: Callable[[str], str] = lambda text: text
    prepare: Callable[[Cluster], None] = lambda cluster: None


VARIANTS = {
    "local": Variant("local"),
    "onprem": Variant("onprem"),
    # with the administrator's own S3 store: one more variant would cost the suite ~35 s
    "onprem-gpu-s3": Variant("onprem", lambda text: _s3_store(_device_plugin(text))),
    "aks-gpu-blob": Variant("aks", _blob_store, prepare=_helm_prerequisites),
    "generic": Variant("generic"),
}


@dataclass
class Install:
    """One target's platform file, its emulated cluster and the first render and apply."""

    path: Path
    emulator: RunningEmulator
    kubeconfig: Path
    render: tuple[int, str, str]
    apply: tuple[int, str, str]

    def run(self, *argv: str) -> tuple[int, str, str]:
        """A cluster command on this install's file and cluster."""
        return run(*argv, "-f", str(self.path), "--kubeconfig", str(self.kubeconfig),
                   "--offline")


run = kfops


@pytest.fixture(scope="class", params=sorted(VARIANTS))
def install(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            shared_cache: Path) -> Iterator[Install]:
    variant = VARIANTS[str(request.param)]
    folder = tmp_path_factory.mktemp(str(request.param))
    settings = Settings(crd_delay=0.05, workload_delay=0.1, profile_controller=True,
                        profile_delay=0.1)
    with pytest.MonkeyPatch.context() as patch, \
            RunningEmulator(settings, FaultPlan()) as emulator:
        patch.setenv("KFOPS_CACHE_DIR", str(shared_cache))
        patch.setenv("HOME", str(folder / "home"))
        patch.setenv("GITHUB_CLIENT_SECRET", "github-secret-from-env")
        patch.setenv("ENTRA_CLIENT_SECRET", "entra-secret-from-env")
        for name, value in S3_KEYS.items():
            patch.setenv(name, value)
        path = folder / "platform.yaml"
        assert run("init", "--target", variant.target, "-f", str(path))[0] == 0
        path.write_text(variant.edit(offline(fill(path.read_text()), "26.03")))
        kubeconfig = emulator.write_kubeconfig(folder / "kubeconfig")
        with Cluster.connect(kubeconfig) as cluster:
            variant.prepare(cluster)
        rendered = run("render", "-f", str(path), "--offline", "-o", "json")
        partial = Install(path, emulator, kubeconfig, rendered, (0, "", ""))
        yield Install(path, emulator, kubeconfig, rendered, partial.run("apply", "-o", "json"))


def _secret_values(folder: Path) -> set[str]:
    """Every secret value of an install, as written and base64-encoded."""
    values = set(json.loads((folder / ".kfops" / "secrets.json").read_text()).values())
    values |= {"github-secret-from-env", "entra-secret-from-env", *S3_KEYS.values()}
    for file in (folder / "bundle" / "secrets").rglob("*.yaml"):
        for secret in yaml.safe_load_all(file.read_text()):
            # the storage account's name sits beside its key, but the platform file holds it
            values |= {base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()
                       if k != "AZURE_STORAGE_ACCOUNT"}
            values |= set((secret.get("stringData") or {}).values())
    # bcrypt hashes are not secrets in this sense: the platform file holds them (PLATFORM.md).
    values = {v for v in values if len(v) >= 8 and not v.startswith("$2")}
    return values | {base64.b64encode(v.encode()).decode() for v in values}


class TestEveryTarget:
    """render → apply → plan (exit 0) → re-apply (0 writes) → doctor (nothing found) → drift
    repaired."""

    def test_render(self, install: Install) -> None:
        code, out, err = install.render
        assert (code, "Traceback" in err) == (0, False), err
        assert json.loads(out)["objects"] > 600
        assert (install.path.parent / "bundle" / "kfops.lock").is_file()

    def test_git_add_stages_no_secret(self, install: Install) -> None:
        folder = install.path.parent
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
        subprocess.run(["git", "-C", str(folder), "add", "-A"], check=True)
        staged = subprocess.run(["git", "-C", str(folder), "diff", "--cached", "--name-only"],
                                check=True, capture_output=True, text=True).stdout.split()

        assert "bundle/kfops.lock" in staged and "platform.yaml" in staged
        assert not [f for f in staged if f.startswith((".kfops/", "bundle/secrets/"))]
        values = _secret_values(folder)
        assert len(values) >= 6
        for name in staged:
            text = (folder / name).read_text(errors="replace")
            assert not [v for v in values if v in text], name
        secrets = folder / "bundle" / "secrets"
        assert secrets.stat().st_mode & 0o777 == 0o700
        assert {f.stat().st_mode & 0o777 for f in secrets.rglob("*.yaml")} == {0o600}

    def test_apply(self, install: Install) -> None:
        code, out, err = install.apply
        assert code == 0, err
        summary = json.loads(out)
        assert summary["updated"] == [] and summary["pruned"] == []
        assert len(summary["created"]) == json.loads(install.render[1])["objects"]

    def test_plan_after_apply_finds_nothing(self, install: Install) -> None:
        code, out, err = install.run("plan", "-o", "json")
        changed = [o for o in json.loads(out)["objects"] if o["action"] != "unchanged"]
        assert (code, changed) == (0, []), err + str(changed)

    def test_reapply_sends_no_write(self, install: Install) -> None:
        before = len(install.emulator.writes())
        code, out, err = install.run("apply")
        assert code == 0, err
        assert " 0 created, 0 updated, " in out
        assert install.emulator.writes()[before:] == []

    def test_doctor_finds_nothing_and_writes_nothing(self, install: Install) -> None:
        before = len(install.emulator.non_reads())
        code, out, err = install.run("doctor", "-o", "json")
        report = json.loads(out)
        assert (code, report["findings"], report["unreadable"]) == (0, [], []), err + out
        assert [r["name"] for r in report["rules"] if "error" in r] == []
        assert install.emulator.non_reads()[before:] == []

    def test_drift_is_repaired(self, install: Install) -> None:
        with Cluster.connect(install.kubeconfig) as cluster:
            cluster.merge_patch("apps/v1", "Deployment", "cache-server",
                                {"spec": {"replicas": 3}}, "kubeflow")
            cluster.delete("v1", "Service", "katib-ui", "kubeflow")
            dex = cluster.get("v1", "ConfigMap", "dex", "auth")
            assert dex is not None
            config = yaml.safe_load(dex["data"]["config.yaml"])
            config["enablePasswordDB"] = not config["enablePasswordDB"]
            cluster.merge_patch("v1", "ConfigMap", "dex",
                                {"data": {"config.yaml": yaml.safe_dump(config)}}, "auth")

        code, out, _ = install.run("plan", "-o", "json")
        actions = {o["object"]: o["action"] for o in json.loads(out)["objects"]
                   if o["action"] != "unchanged"}
        assert code == 3
        assert actions == {"Deployment kubeflow/cache-server": "update",
                           "Service kubeflow/katib-ui": "create",
                           "ConfigMap auth/dex": "update"}

        code, out, err = install.run("apply", "-o", "json")
        assert code == 0, err
        summary = json.loads(out)
        assert summary["created"] == ["Service kubeflow/katib-ui"]
        assert sorted(summary["updated"]) == ["ConfigMap auth/dex",
                                              "Deployment kubeflow/cache-server"]
        assert install.run("plan")[0] == 0
