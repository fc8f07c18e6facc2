"""`spec.objectStore.type: azureBlob` on the real 26.03 manifests: the account's Secret, the
release's SeaweedFS with its sync sidecar and image, warnings, and refusals; the sidecar's
program run under /bin/sh against a recording stand-in for `weed`."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kfops.catalog import SEAWEEDFS_REMOTE_SYNC_IMAGE
from kfops.render import IMAGES, RenderResult, write_bundle
from kfops.storage._azure_blob import sync_image
from kfops.targets import starter_text
from tests.helpers.cli import kfops
from tests.helpers.presets import Objects, fill, offline, render_preset, secret

KEY = "QXp1cmVLZXk-not-a-real-one+/w==Zk9v"
KEY_ENV = "KFOPS_TEST_AZURE_KEY"
REGISTRY = "registry.internal:5000"
RELEASE_IMAGE = "chrislusf/seaweedfs:4.00"


def azure_blob(key: str = f"{{env: {KEY_ENV}}}") -> str:
    return ("  objectStore:\n    type: azureBlob\n"
            f"    azureBlob: {{account: kfpstore, container: kfp-artifacts, key: {key}}}\n")


def render_with(folder: Path, target: str, extra: str, cache: Path) -> RenderResult:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_CACHE_DIR", str(cache))
        patch.setenv("ENTRA_CLIENT_SECRET", "entra-secret-from-env")
        patch.setenv("GITHUB_CLIENT_SECRET", "github-secret-from-env")
        patch.setenv(KEY_ENV, KEY)
        return render_preset(folder, target, "26.03", lambda text: text + extra)


@pytest.fixture(scope="module")
def aks(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> RenderResult:
    return render_with(tmp_path_factory.mktemp("aks"), "aks", azure_blob(), shared_cache)


@pytest.fixture(scope="module")
def onprem_airgapped(tmp_path_factory: pytest.TempPathFactory,
                     shared_cache: Path) -> RenderResult:
    return render_with(tmp_path_factory.mktemp("onprem"), "onprem",
                       azure_blob() + f"  airgap: {{registry: \"{REGISTRY}\"}}\n", shared_cache)


def seaweedfs(result: RenderResult) -> dict[str, Any]:
    return Objects(result).get("Deployment", "seaweedfs", "kubeflow")


def containers(result: RenderResult) -> dict[str, dict[str, Any]]:
    pod = seaweedfs(result)["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod["containers"]}


def sync_script(result: RenderResult) -> str:
    command = containers(result)["azure-blob-sync"]["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    return str(command[2])


def test_the_secret_holds_account_and_key_from_the_environment(aks: RenderResult) -> None:
    found = Objects(aks).get("Secret", "kfp-azure-blob", "kubeflow")
    assert secret(found, "AZURE_STORAGE_ACCESS_KEY") == KEY
    assert secret(found, "AZURE_STORAGE_ACCOUNT") == "kfpstore"
    assert set(found["data"]) == {"AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_ACCOUNT"}


def test_no_file_but_the_secrets_holds_the_key(aks: RenderResult, tmp_path: Path) -> None:
    write_bundle(aks.bundle, tmp_path / "bundle")
    encoded = base64.b64encode(KEY.encode()).decode()
    holding = []
    for path in (tmp_path / "bundle").rglob("*"):
        if path.is_file():
            text = path.read_text()
            if KEY in text or encoded in text:
                holding.append(path.relative_to(tmp_path / "bundle").as_posix())
    assert holding and all(p.startswith("secrets/") for p in holding), holding
    assert not any(KEY in w for w in aks.bundle.warnings)


def test_server_and_sidecar_read_the_secret_and_run_the_fixed_image(aks: RenderResult) -> None:
    found = containers(aks)
    assert list(found) == ["seaweedfs", "azure-blob-sync"]
    server, sidecar = found["seaweedfs"], found["azure-blob-sync"]
    assert server["image"] == sidecar["image"] == SEAWEEDFS_REMOTE_SYNC_IMAGE
    assert {"secretRef": {"name": "kfp-azure-blob"}} in server["envFrom"]
    assert {"secretRef": {"name": "mlpipeline-minio-artifact"}} in server["envFrom"]
    assert sidecar["envFrom"] == [{"secretRef": {"name": "kfp-azure-blob"}}]
    assert sidecar["securityContext"] == server["securityContext"]
    assert sidecar["securityContext"]["runAsNonRoot"] is True
    assert sidecar["resources"]["requests"] == {"cpu": "10m", "memory": "64Mi"}
    # The release's set-up stays: the bucket, the admin user and the per-namespace keys.
    post_start = server["lifecycle"]["postStart"]["exec"]["command"][2]
    assert "s3.configure -user kubeflow-admin" in post_start
    assert server["args"][:2] == ["server", "-dir=/data"]
    annotations = seaweedfs(aks)["spec"]["template"]["metadata"]["annotations"]
    assert "kfops.io/config-digest" in annotations


def test_the_sidecar_names_bucket_container_and_remote_but_no_key(aks: RenderResult) -> None:
    script = sync_script(aks)
    assert "bucket=mlpipeline\n" in script
    assert "container=kfp-artifacts\n" in script
    assert "remote=kfopsazure\n" in script
    assert "remote.configure -name=$remote -type=azure" in script
    assert "-remote=$remote/$container -nonempty" in script
    assert 'filer.remote.sync -filer=127.0.0.1:8888 -dir="$dir"' in script
    sidecar = containers(aks)["azure-blob-sync"]
    assert KEY not in str(sidecar) and "account_key" not in script
    assert shutil.which("shellcheck")
    checked = subprocess.run(["shellcheck", "-s", "sh", "-"], input=script, text=True,
                             capture_output=True, check=False)
    assert checked.returncode == 0, checked.stdout


def test_the_bucket_comes_from_the_pipelines_config(aks: RenderResult) -> None:
    config = Objects(aks).get("ConfigMap", "pipeline-install-config", "kubeflow")
    assert f"bucket={config['data']['bucketName']}\n" in sync_script(aks)


def test_render_warns_of_async_writes_the_new_image_and_no_azure_check(
        aks: RenderResult) -> None:
    warnings = [w for w in aks.bundle.warnings if w.startswith("spec.objectStore azureBlob")]
    assert len(warnings) == 3
    asynchronous, image, unverified = warnings
    assert "asynchronously" in asynchronous and "mirror, not a backup" in asynchronous
    assert RELEASE_IMAGE in image and SEAWEEDFS_REMOTE_SYNC_IMAGE in image
    assert "#10424" in image and "could not pull" in image
    assert "not verified" in unverified


def test_images_list_the_new_seaweedfs_not_the_old(aks: RenderResult) -> None:
    assert SEAWEEDFS_REMOTE_SYNC_IMAGE in aks.bundle.images
    assert not any(i.endswith("seaweedfs:4.00") for i in aks.bundle.images)
    assert f"{SEAWEEDFS_REMOTE_SYNC_IMAGE}\n" in aks.bundle.file_texts()[IMAGES]


def test_an_air_gap_moves_server_and_sidecar_to_the_registry(
        onprem_airgapped: RenderResult) -> None:
    found = containers(onprem_airgapped)
    moved = f"{REGISTRY}/chrislusf/seaweedfs:4.46"
    assert found["seaweedfs"]["image"] == found["azure-blob-sync"]["image"] == moved
    assert SEAWEEDFS_REMOTE_SYNC_IMAGE in onprem_airgapped.bundle.images
    assert Objects(onprem_airgapped).has("Secret", "kfp-azure-blob", "kubeflow")


def write_platform(folder: Path, target: str, release: str, extra: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "platform.yaml"
    path.write_text(offline(fill(starter_text(target)), release) + extra)
    return path


def test_v1_10_with_azure_blob_is_refused_at_type(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "x")
    monkeypatch.setenv(KEY_ENV, KEY)
    path = write_platform(tmp_path, "aks", "v1.10.2", azure_blob())
    code, out, err = kfops("render", "-f", str(path), "--offline")
    assert code == 2, err
    assert "spec.objectStore.type" in err
    assert "MinIO" in err and "gateway azure" in err and "every profile namespace" in err
    assert "Traceback" not in err and KEY not in out + err
    assert not (tmp_path / "bundle").exists()


def test_a_missing_key_variable_is_named(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "x")
    monkeypatch.delenv(KEY_ENV, raising=False)
    path = write_platform(tmp_path, "aks", "26.03", azure_blob())
    code, _, err = kfops("render", "-f", str(path), "--offline")
    assert code == 2, err
    assert KEY_ENV in err and "spec.objectStore.azureBlob.key" in err
    assert "Traceback" not in err
    assert not (tmp_path / "bundle").exists()


def test_inline_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "x")
    path = write_platform(tmp_path, "aks", "26.03", azure_blob(key=f'"{KEY}"'))
    code, out, err = kfops("render", "-f", str(path), "--offline")
    assert code == 2, err
    assert "spec.objectStore.azureBlob.key" in err and KEY not in out + err


# ---- the sidecar's program against a stand-in `weed` ----

#: Records each call (argv, and the command piped into `weed shell`) and answers as weed
#: shell does: the `> ` prompt on stdout, failures as `error: ...` on stderr, exit 0.
FAKE_WEED = r"""#!/bin/sh
printf 'argv: %s\n' "$*" >> "$WEED_LOG"
if [ "$1" != shell ]; then
  exit 0
fi
command=$(cat)
printf 'stdin: %s\n' "$command" >> "$WEED_LOG"
printf '> '
case "$command" in
  s3.bucket.list)
    printf '  mlpipeline\tsize:0\tchunk:0\n' ;;
  remote.mount)
    if [ -f "$WEED_STATE/mounted" ]; then cat "$WEED_STATE/mounted"; else
      echo "error: read existing mapping: not found" >&2; fi ;;
  remote.mount\ *)
    if [ -n "${WEED_FAIL_MOUNT:-}" ]; then
      echo "error: pull metadata: 403 AuthenticationFailed" >&2
    else
      cat > "$WEED_STATE/mounted" <<'JSON'
{
  "mappings": {
    "/buckets/mlpipeline": {
      "name": "kfopsazure",
      "bucket": "kfp-artifacts",
      "path": "/"
    }
  }
}
JSON
    fi ;;
esac
exit 0
"""


@pytest.fixture
def weed(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "weed").write_text(FAKE_WEED)
    (bin_dir / "weed").chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "WEED_LOG": str(tmp_path / "calls.log"),
            "WEED_STATE": str(state), "AZURE_STORAGE_ACCOUNT": "kfpstore",
            "AZURE_STORAGE_ACCESS_KEY": KEY}


def run_script(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/sh", "-c", script], env=env, text=True, capture_output=True,
                          timeout=60, check=False)


def calls(env: dict[str, str]) -> list[str]:
    return Path(env["WEED_LOG"]).read_text().splitlines()


def test_the_program_mounts_once_and_execs_the_sync(aks: RenderResult,
                                                    weed: dict[str, str]) -> None:
    script = sync_script(aks)
    first = run_script(script, weed)
    assert first.returncode == 0, first.stderr
    log = calls(weed)
    assert "stdin: remote.configure -name=kfopsazure -type=azure" in log
    assert "stdin: remote.mount -dir=/buckets/mlpipeline -remote=kfopsazure/kfp-artifacts " \
           "-nonempty" in log
    assert log[-1] == ("argv: -logtostderr=true filer.remote.sync -filer=127.0.0.1:8888 "
                       "-dir=/buckets/mlpipeline")
    assert all(KEY not in line for line in log)  # neither in an argument nor a shell command
    # A restart: configured again (harmless), not mounted again, the sync runs.
    Path(weed["WEED_LOG"]).unlink()
    again = run_script(script, weed)
    assert again.returncode == 0, again.stderr
    log = calls(weed)
    assert "stdin: remote.configure -name=kfopsazure -type=azure" in log
    assert not any(line.startswith("stdin: remote.mount -dir") for line in log)
    assert "mounted on kfopsazure/kfp-artifacts already" in again.stdout
    assert log[-1].startswith("argv: -logtostderr=true filer.remote.sync")


def test_a_weed_shell_error_stops_the_program(aks: RenderResult,
                                              weed: dict[str, str]) -> None:
    result = run_script(sync_script(aks), {**weed, "WEED_FAIL_MOUNT": "1"})
    assert result.returncode != 0
    assert "error: pull metadata: 403 AuthenticationFailed" in result.stdout
    assert "kfops: weed shell: 'remote.mount -dir=/buckets/mlpipeline" in result.stderr
    assert not any("filer.remote.sync" in line for line in calls(weed))
    assert KEY not in result.stdout + result.stderr


def test_a_mount_of_another_container_is_left_alone(aks: RenderResult,
                                                    weed: dict[str, str]) -> None:
    Path(weed["WEED_STATE"], "mounted").write_text(
        '{"mappings": {"/buckets/mlpipeline": {"name": "kfopsazure", "bucket": "old-one"}}}\n')
    result = run_script(sync_script(aks), weed)
    assert result.returncode != 0
    assert "mounted on another remote" in result.stderr
    log = calls(weed)
    assert not any(line.startswith("stdin: remote.mount -dir") for line in log)
    assert not any("unmount" in line or "filer.remote.sync" in line for line in log)



@pytest.mark.parametrize(("release", "kept"), [
    ("chrislusf/seaweedfs:4.00", False),
    ("chrislusf/seaweedfs:4.45", False),
    ("ghcr.io/chrislusf/seaweedfs:4.30", False),
    ("chrislusf/seaweedfs:latest", False),
    ("chrislusf/seaweedfs", False),
    ("chrislusf/seaweedfs:4.46", True),
    ("ghcr.io/chrislusf/seaweedfs:4.100_large_disk", True),
    ("chrislusf/seaweedfs:5.1@sha256:" + "0" * 64, True),
])
def test_a_release_image_with_the_fixed_sync_is_kept(release: str, kept: bool) -> None:
    assert sync_image(release) == (release if kept else SEAWEEDFS_REMOTE_SYNC_IMAGE)


def test_a_render_without_pipelines_names_the_missing_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "x")
    monkeypatch.setenv(KEY_ENV, KEY)
    path = write_platform(tmp_path, "aks", "26.03",
                          "  components:\n    pipelines: false\n" + azure_blob())
    code, out, err = kfops("render", "-f", str(path), "--offline")
    assert code == 1, err
    assert "azureBlob mounts the container into the release's SeaweedFS" in err
    assert "Pipelines switched off" in err and "Traceback" not in err
    assert KEY not in out + err
    assert not (tmp_path / "bundle").exists()
