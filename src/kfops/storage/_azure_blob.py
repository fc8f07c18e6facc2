"""`spec.objectStore.type: azureBlob`: an Azure Blob container behind the release's SeaweedFS.

Kubeflow Pipelines cannot talk to Azure Blob Storage (its launcher takes
`minio://`, `s3://` and `gs://` only; its UI has no Azure source). So the
release's SeaweedFS stays the S3 endpoint every piece already uses, with its
per-namespace keys, and the container is mounted into it as SeaweedFS remote
storage: a sidecar configures the remote (`remote.configure -type=azure`),
mounts the container on the Pipelines bucket (`remote.mount`) and then runs
`weed filer.remote.sync`, which uploads every write to Azure after it lands
in SeaweedFS and mirrors deletes.

The storage account and its key reach SeaweedFS only as the environment
variables its Azure client reads when `remote.configure` got no account
flags (AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_ACCESS_KEY), from a Secret: never
an argument (`weed shell` keeps every command it ran in /tmp/weed-shell, and
`remote.configure` would store the key in the filer, readable on port 8888
and printed unmasked by its listing).
"""

from __future__ import annotations

import copy
import re
import shlex
from typing import Any

from kfops.catalog import (
    PIPELINES_BUCKET_KEY,
    PIPELINES_CONFIG,
    SEAWEEDFS_REMOTE_SYNC_IMAGE,
    SEAWEEDFS_REMOTE_SYNC_MINIMUM,
)
from kfops.config import AzureBlob
from kfops.errors import RenderError
from kfops.objects import image_tag, set_secret_value
from kfops.render import EditableBundle, Phase, RenderContext
from kfops.secrets import resolve

from ._in_cluster_store import InClusterStore, find_in_cluster_store

#: The Secret kfops adds beside the store, read by the server and the sidecar.
AZURE_SECRET = "kfp-azure-blob"
#: The SeaweedFS Azure client's variables (weed/remote_storage/azure: used when the
#: remote's configuration holds no account name or key).
ACCOUNT_ENV = "AZURE_STORAGE_ACCOUNT"
KEY_ENV = "AZURE_STORAGE_ACCESS_KEY"
#: The remote storage's name in SeaweedFS (`remote.configure` takes letters and digits only).
REMOTE_NAME = "kfopsazure"
SIDECAR = "azure-blob-sync"
#: The key's name in the state directory (never used: the key is `{env}` or `{file}`).
_STATE_NAME = "object-store-azure-key"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_VERSION = re.compile(r"^(\d+)\.(\d+)")

#: The sidecar's program, after the lines that set `remote`, `container` and `bucket`.
#: `weed shell` exits 0 whatever its commands did and prints failures as `error: ...`
#: (and `unknown command: ...`), after its `> ` prompt when stdin is not a terminal,
#: so every step reads the output instead of the exit status.
_SYNC_SCRIPT = r"""dir="/buckets/$bucket"

weed_shell() {
  echo "$1" | weed shell -master=127.0.0.1:9333 -filer=127.0.0.1:8888 2>&1
}

run() {
  out=$(weed_shell "$1")
  printf '%s\n' "$out"
  if printf '%s\n' "$out" | grep -Eq '^(> )*(error|unknown command):'; then
    echo "kfops: weed shell: '$1' failed" >&2
    exit 1
  fi
}

served() {
  weed_shell "s3.bucket.list" | sed 's/^\(> \)*//' \
    | awk -v b="$bucket" '$1 == b { found = 1 } END { exit !found }'
}

# The server container's postStart creates the bucket; mounting before that would make
# the directory without the bucket's settings.
until served; do
  echo "kfops: waiting for SeaweedFS on 127.0.0.1 to serve bucket $bucket"
  sleep 5
done

# No account flags: SeaweedFS reads AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_ACCESS_KEY.
# Saving the same configuration again changes nothing.
run "remote.configure -name=$remote -type=azure"

# Mount once: a restart finds the mount in the filer's mapping (printed as JSON). A mount
# of another container is left alone, because remote.unmount deletes the local copy.
mounts=$(weed_shell "remote.mount")
if printf '%s\n' "$mounts" | grep -qF "\"$dir\""; then
  if printf '%s\n' "$mounts" | grep -qF "\"$container\"" \
      && printf '%s\n' "$mounts" | grep -qF "\"$remote\""; then
    echo "kfops: $dir is mounted on $remote/$container already"
  else
    echo "kfops: $dir is mounted on another remote, not $remote/$container:" >&2
    printf '%s\n' "$mounts" >&2
    echo "kfops: see 'Changing the container' in kfops docs/object-store.md" >&2
    exit 1
  fi
else
  run "remote.mount -dir=$dir -remote=$remote/$container -nonempty"
fi

exec weed -logtostderr=true filer.remote.sync -filer=127.0.0.1:8888 -dir="$dir"
"""


class AzureBlobStore:
    """Mount `spec.objectStore.azureBlob`'s container into the release's SeaweedFS."""

    name = "azureBlob"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Add the account's Secret, the sync sidecar and an image whose sync keeps uploads."""
        spec = context.loaded.platform.spec.object_store
        if spec.type != "azureBlob" or spec.azure_blob is None:
            return
        azure = spec.azure_blob
        store = _seaweedfs(find_in_cluster_store(bundle))
        namespace = str(store.deployment.obj["metadata"].get("namespace") or "")
        bucket = pipelines_bucket(bundle, namespace)
        key = resolve(azure.key, context.loaded, context.state, _STATE_NAME)
        secret = bundle.add(_secret(namespace, azure.account, key), store.deployment.component,
                            "spec.objectStore.azureBlob")
        release_image = store.image
        pod = bundle.edit(store.deployment)["spec"]["template"]["spec"]
        server = store.server
        server["image"] = sync_image(release_image)
        server.setdefault("envFrom", []).append({"secretRef": {"name": AZURE_SECRET}})
        pod["containers"].append(_sidecar(server, sync_script(azure, bucket)))
        bundle.restart_on_change(store.deployment, secret)
        _warn(bundle, azure, bucket,
              release_image if server["image"] != release_image else None)


def sync_script(azure: AzureBlob, bucket: str) -> str:
    """The sidecar's shell program: configure, mount once, then run the sync for good."""
    values = {"remote": REMOTE_NAME, "container": azure.container, "bucket": bucket}
    return "set -u\n" + "".join(f"{name}={shlex.quote(value)}\n"
                                for name, value in values.items()) + _SYNC_SCRIPT


def pipelines_bucket(bundle: EditableBundle, namespace: str) -> str:
    """The bucket Kubeflow Pipelines keeps its artifacts in, as its install config names it."""
    config = bundle.require("ConfigMap", PIPELINES_CONFIG, namespace)
    bucket = str((config.obj.get("data") or {}).get(PIPELINES_BUCKET_KEY, ""))
    if not _BUCKET.fullmatch(bucket):
        raise RenderError(f"ConfigMap {namespace}/{PIPELINES_CONFIG} names no usable bucket "
                          f"in {PIPELINES_BUCKET_KEY} ({bucket!r}); azureBlob mounts the "
                          "container on that bucket")
    return bucket


def _seaweedfs(store: InClusterStore | None) -> InClusterStore:
    if store is None:
        raise RenderError("spec.objectStore.type azureBlob mounts the container into the "
                          "release's SeaweedFS, and this render has none (is Pipelines "
                          "switched off?)")
    if store.product != "seaweedfs":
        raise RenderError(f"spec.objectStore.type azureBlob needs the release's store to be "
                          f"SeaweedFS; this release runs {store.image}")
    return store


def sync_image(image: str) -> str:
    """The release's image when its remote sync keeps failed uploads, else kfops's."""
    tag = image_tag(image)
    match = _VERSION.match(tag)
    if match and (int(match.group(1)), int(match.group(2))) >= SEAWEEDFS_REMOTE_SYNC_MINIMUM:
        return image
    return SEAWEEDFS_REMOTE_SYNC_IMAGE


def _secret(namespace: str, account: str, key: str) -> dict[str, Any]:
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                              "metadata": {"name": AZURE_SECRET, "namespace": namespace}}
    set_secret_value(secret, ACCOUNT_ENV, account)
    set_secret_value(secret, KEY_ENV, key)
    return secret


def _sidecar(server: dict[str, Any], script: str) -> dict[str, Any]:
    sidecar: dict[str, Any] = {
        "name": SIDECAR,
        "image": server["image"],
        "command": ["/bin/sh", "-c", script],
        "envFrom": [{"secretRef": {"name": AZURE_SECRET}}],
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
    }
    if "securityContext" in server:
        sidecar["securityContext"] = copy.deepcopy(server["securityContext"])
    return sidecar


def _warn(bundle: EditableBundle, azure: AzureBlob, bucket: str,
          replaced: str | None) -> None:
    where = f"{azure.account}/{azure.container}"
    bundle.warn(
        f"spec.objectStore azureBlob: artifacts are written to SeaweedFS's bucket {bucket} "
        f"first and reach Azure ({where}) asynchronously: the {SIDECAR} sidecar uploads each "
        "write after it lands, so an artifact whose pod or node (with its volume) is lost "
        "before the upload is lost; deletes are mirrored too, so Azure is a mirror, not a "
        "backup (docs/object-store.md)")
    if replaced is not None:
        bundle.warn(
            f"spec.objectStore azureBlob: the release's SeaweedFS image {replaced} is replaced "
            f"by {SEAWEEDFS_REMOTE_SYNC_IMAGE}, the oldest release whose filer.remote.sync "
            "neither drops failed uploads (seaweedfs PR #10424) nor skips or stalls on later "
            "ones (PRs #11140, #11146, #11149); the tag is evidenced in public repositories "
            "but kfops could not pull it where it was built: check it with `skopeo inspect "
            f"docker://{SEAWEEDFS_REMOTE_SYNC_IMAGE}` before applying")
    bundle.warn(
        "spec.objectStore azureBlob: kfops has not verified this set-up against a real Azure "
        "storage account; check that artifacts appear in the container after the first run")

