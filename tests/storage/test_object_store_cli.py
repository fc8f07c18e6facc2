"""`kfops render` refuses a bad `spec.objectStore`: exit 2, the YAML path and what is
allowed, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MANIFESTS, REMOTE_CACHE
from tests.helpers.cli import kfops

INLINE_KEY = "AKIAIOSFODNN7EXAMPLE"
KEYS = "    credentials: {accessKey: {env: S3_ACCESS}, secretKey: {env: S3_SECRET}}\n"

#: (release, objectStore section, the line and path the message names, what it says)
BAD = {
    "no bucket": ("26.03", "    type: s3\n    region: eu-central-1\n" + KEYS,
                  "platform.yaml:11 spec.objectStore.bucket:", "needs the bucket"),
    "no credentials": ("v1.10.2", "    type: s3\n    region: eu-central-1\n    bucket: kfp\n",
                       "platform.yaml:11 spec.objectStore.credentials:",
                       "{fromEnv: true}"),
    "http with tls": ("26.03", "    type: s3\n    endpoint: http://store.lab.internal:9000\n"
                               "    bucket: kfp\n" + KEYS,
                      "platform.yaml:13 spec.objectStore.endpoint:", "set tls: false"),
    "region against endpoint": (
        "v1.10.2", "    type: s3\n    endpoint: https://s3.us-west-2.amazonaws.com\n"
                   "    region: eu-central-1\n    bucket: kfp\n" + KEYS,
        "platform.yaml:14 spec.objectStore.region:", "is in region us-west-2, not eu-central-1"),
    "inline secret": ("26.03", "    type: s3\n    region: eu-central-1\n    bucket: kfp\n"
                               f"    credentials: {{accessKey: \"{INLINE_KEY}\", "
                               "secretKey: {env: S3_SECRET}}\n",
                      "platform.yaml:15 spec.objectStore.credentials.accessKey:",
                      "use {env: NAME} or {file: path}"),
    "generated key": ("26.03", "    type: s3\n    region: eu-central-1\n    bucket: kfp\n"
                               "    credentials: {accessKey: {generate: true}, "
                               "secretKey: {env: S3_SECRET}}\n",
                      "platform.yaml:15 spec.objectStore.credentials:", "not generate"),
    "azureBlob on v1.10": ("v1.10.2", "    type: azureBlob\n    azureBlob: {account: kfsa, "
                                      "container: kfp, key: {env: AZURE_KEY}}\n",
                           "platform.yaml:12 spec.objectStore.type:",
                           "hands the storage account key to every profile namespace"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_object_store_is_refused_before_anything_is_written(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release, section, where, what = BAD[case]
    for name in ("S3_ACCESS", "S3_SECRET", "AZURE_KEY"):
        monkeypatch.setenv(name, f"value-of-{name}")
    platform = tmp_path / "platform.yaml"
    platform.write_text(
        "apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lab\nspec:\n"
        f"  target: local\n  release:\n    version: \"{release}\"\n"
        f"    source: {MANIFESTS / release}\n    remoteCache: {REMOTE_CACHE}\n"
        "  objectStore:\n" + section)
    out = tmp_path / "out"

    code, stdout, stderr = kfops("render", "-f", str(platform), "--out", str(out), "--offline")

    assert code == 2, stderr
    [line] = [line for line in stderr.splitlines() if where in line]
    assert what in line
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert INLINE_KEY not in stderr + stdout  # a secret given inline is never echoed
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["platform.yaml"]  # no state either
