"""The copy Job's script, run as the Job runs it (`python store_copy.py`), between two real S3
servers (moto, checking SigV4 signatures): the old store and the new one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfops.storage import _store_copy_script as script
from tests.helpers.s3_server import S3Server, running_moto

SCRIPT = Path(script.__file__)
#: Small parts, so a multipart copy needs no large test data.
PART = 5 << 20
_KEYS = [f"artifacts/run-{r}/step-{s}/output.tgz" for r in range(30) for s in range(5)] + [
    "v2/artifacts/pipeline/a b+c/ünïcode=1&x.txt", "pipelines/7f3c.yaml", "top-level",
    "deep/" + "/".join(f"level{i}" for i in range(12)) + "/leaf.json"]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3Server, S3Server]]:
    """The old store and the new one (plain HTTP, as both run in the cluster)."""
    with running_moto(tmp_path_factory.mktemp("old"), tls=False) as old, \
            running_moto(tmp_path_factory.mktemp("new"), tls=False) as new:
        yield old, new


_BUCKET_NUMBER = iter(range(1000))


@pytest.fixture
def buckets(stores: tuple[S3Server, S3Server]) -> tuple[str, str]:
    """Two fresh buckets in the old store filled like a v1.10 pipelines bucket; the second
    bucket is also in the new store already (as 26.03 makes `mlpipeline`)."""
    old, new = stores
    number = next(_BUCKET_NUMBER)
    main, extra = f"mlpipeline-{number}", f"team-data-{number}"
    client = old.client()
    for bucket in (main, extra):
        client.create_bucket(Bucket=bucket)
    for index, key in enumerate(_KEYS):
        client.put_object(Bucket=main, Key=key, Body=f"{key}:{index}".encode() * (index % 7))
    client.put_object(Bucket=extra, Key="datasets/large.bin", Body=_large())
    new.client().create_bucket(Bucket=main)
    return main, extra


def _large() -> bytes:
    """Three parts and a bit, every byte position distinct enough to catch a shifted part."""
    return b"".join(i.to_bytes(4, "big") for i in range((3 * PART + 12345) // 4))


def run_copy(old: S3Server, new: S3Server, buckets: tuple[str, ...], **extra: str
             ) -> tuple[int, dict[str, Any], str]:
    """Run the script in a child Python as the Job does; exit code, summary, whole output."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1",
           **_environment(old, new, buckets), **extra}
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True,
                          text=True, timeout=240, check=False)
    lines = done.stdout.strip().splitlines()
    return done.returncode, json.loads(lines[-1]), done.stdout + done.stderr


def _environment(old: S3Server, new: S3Server, buckets: tuple[str, ...]) -> dict[str, str]:
    """What the Job's container is given (the keys from the stores' Secrets)."""
    return {"SOURCE_ENDPOINT": old.url, "SOURCE_ACCESS_KEY": old.access_key,
            "SOURCE_SECRET_KEY": old.secret_key, "TARGET_ENDPOINT": new.url,
            "TARGET_ACCESS_KEY": new.access_key, "TARGET_SECRET_KEY": new.secret_key,
            "BUCKETS": ",".join(buckets), "PART_SIZE": str(PART), "BACKOFF": "0",
            "RETRIES": "1"}


def _contents(server: S3Server, bucket: str) -> dict[str, bytes]:
    client = server.client()
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def test_copies_every_object_byte_for_byte_and_verifies(
        stores: tuple[S3Server, S3Server], buckets: tuple[str, str]) -> None:
    old, new = stores
    code, summary, output = run_copy(old, new, buckets, WORKERS="3")
    assert code == 0, output
    assert summary["verified"] is True
    assert summary["objects"] == len(_KEYS) + 1 == summary["copied"]
    assert summary["skipped"] == 0 and summary["mismatches"] == []
    total = sum(len(body) for body in _contents(old, buckets[0]).values()) + len(_large())
    assert summary["bytes"] == summary["copiedBytes"] == total
    for bucket in buckets:  # the second bucket was made in the new store by the copy
        assert _contents(new, bucket) == _contents(old, bucket)
        assert summary["buckets"][bucket]["source"] == summary["buckets"][bucket]["target"]
    head = new.client().head_object(Bucket=buckets[1], Key="datasets/large.bin")
    assert head["ETag"].strip('"').endswith("-4")  # four parts: a multipart upload


def test_a_second_run_copies_nothing(stores: tuple[S3Server, S3Server],
                                     buckets: tuple[str, str]) -> None:
    old, new = stores
    assert run_copy(old, new, buckets)[0] == 0
    code, summary, _ = run_copy(old, new, buckets)
    assert code == 0
    assert (summary["copied"], summary["skipped"]) == (0, len(_KEYS) + 1)


def test_an_interrupted_copy_converges_when_run_again(
        stores: tuple[S3Server, S3Server], buckets: tuple[str, str]) -> None:
    """A copy killed part-way (here: a third of the objects there, one of them truncated, and
    a multipart upload begun but never completed) is finished by the next run."""
    old, new = stores
    source, target = old.client(), new.client()
    main, extra = buckets
    for key in _KEYS[::3]:
        body = source.get_object(Bucket=main, Key=key)["Body"].read()
        target.put_object(Bucket=main, Key=key, Body=body)
    target.put_object(Bucket=main, Key=_KEYS[-1], Body=b"half")
    target.create_bucket(Bucket=extra)
    target.create_multipart_upload(Bucket=extra, Key="datasets/large.bin")

    code, summary, output = run_copy(old, new, buckets)
    assert code == 0, output
    assert summary["skipped"] == len(_KEYS[::3]) - (1 if (len(_KEYS) - 1) % 3 == 0 else 0)
    assert summary["copied"] + summary["skipped"] == len(_KEYS) + 1
    for bucket in buckets:
        assert _contents(new, bucket) == _contents(old, bucket)


def test_same_size_but_other_content_is_copied_again(
        stores: tuple[S3Server, S3Server], buckets: tuple[str, str]) -> None:
    """Both ETags plain MD5 digests and different: the size alone does not skip it."""
    old, new = stores
    main = buckets[0]
    key = _KEYS[1]
    body = old.client().get_object(Bucket=main, Key=key)["Body"].read()
    new.client().put_object(Bucket=main, Key=key, Body=bytes(len(body)))
    code, summary, _ = run_copy(old, new, (main,))
    assert code == 0 and summary["copied"] == len(_KEYS)
    assert new.client().get_object(Bucket=main, Key=key)["Body"].read() == body


def test_a_mismatch_fails_the_verification_and_is_named(
        stores: tuple[S3Server, S3Server], buckets: tuple[str, str],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Objects written into the old store after their bucket was copied (a pipeline still
    running against it) and one the new store lost are mismatches: exit 1, each named."""
    old, new = stores
    main = buckets[0]
    copy_bucket = script.Copier.copy_bucket

    def copy_then_plant(self: script.Copier, bucket: str) -> None:
        copy_bucket(self, bucket)
        old.client().put_object(Bucket=bucket, Key="planted/after-copy.txt", Body=b"late")
        new.client().delete_object(Bucket=bucket, Key=_KEYS[7])
        new.client().put_object(Bucket=bucket, Key=_KEYS[8], Body=b"?")

    monkeypatch.setattr(script.Copier, "copy_bucket", copy_then_plant)
    code = script.run(_environment(old, new, (main,)))
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 1
    assert summary["verified"] is False
    assert summary["mismatchCount"] == 3
    size = len(old.client().get_object(Bucket=main, Key=_KEYS[8])["Body"].read())
    assert sorted(summary["mismatches"]) == sorted([
        f"{main}/planted/after-copy.txt: missing in the target",
        f"{main}/{_KEYS[7]}: missing in the target",
        f"{main}/{_KEYS[8]}: {size} bytes in the source, 1 bytes in the target"])
    assert summary["buckets"][main]["source"]["objects"] == len(_KEYS) + 1
    assert summary["buckets"][main]["target"]["objects"] == len(_KEYS) - 1


def test_objects_only_in_the_new_store_are_counted_not_a_mismatch(
        stores: tuple[S3Server, S3Server], buckets: tuple[str, str]) -> None:
    old, new = stores
    main = buckets[0]
    new.client().put_object(Bucket=main, Key="pipelines/written-by-26.03.yaml", Body=b"x")
    code, summary, _ = run_copy(old, new, (main,))
    assert code == 0
    assert summary["buckets"][main]["onlyInTarget"] == 1


def test_wrong_keys_end_with_an_error_summary_and_no_key_printed(
        stores: tuple[S3Server, S3Server], buckets: tuple[str, str]) -> None:
    old, new = stores
    wrong = S3Server(new.url, None, new.access_key, "not-the-secret-key-of-the-new-store")
    code, summary, output = run_copy(old, wrong, buckets)
    assert code == 1
    assert summary["verified"] is False
    assert summary["error"].startswith(f"target store {new.url}: HEAD /{buckets[0]}: S3Error: 403")
    assert wrong.secret_key not in output and old.secret_key not in output


def test_every_bucket_of_the_source_by_default(stores: tuple[S3Server, S3Server],
                                               buckets: tuple[str, str]) -> None:
    old, new = stores
    code, summary, _ = run_copy(old, new, ())
    assert code == 0
    assert set(buckets) <= set(summary["buckets"])


def test_canonical_path_encodes_each_segment_once() -> None:
    """S3 signs the path with each segment URI-encoded once, slashes kept."""
    assert script.object_path("b", "a b/c+d/ü") == "/b/a%20b/c%2Bd/%C3%BC"
    assert script.canonical_query({"prefix": "a b", "list-type": "2"}) == \
        "list-type=2&prefix=a%20b"


def test_etags_compare_only_when_both_are_plain_digests() -> None:
    plain, other = script.Entry("k", 3, "abc"), script.Entry("k", 3, "def")
    multipart = script.Entry("k", 3, "abc-2")
    assert not plain.same_as(other)
    assert plain.same_as(multipart) and multipart.same_as(other)
    assert not plain.same_as(script.Entry("k", 4, "abc"))


def test_5xx_and_connection_errors_are_retried_others_are_not() -> None:
    client = script.Client("target", script.Store("http://127.0.0.1:9", "a", "b"), retries=2,
                           backoff=0)
    failures: list[Exception] = [script.S3Error(503, "SlowDown", ""), ConnectionResetError()]

    def flaky() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    assert client.retrying(flaky) == "done"
    failures[:] = [script.S3Error(500, "InternalError", "")] * 3
    with pytest.raises(script.S3Error, match="500 InternalError"):
        client.retrying(flaky)  # two retries, then the third failure is the answer
    failures[:] = [script.S3Error(403, "AccessDenied", "no"), script.S3Error(503, "", "")]
    with pytest.raises(script.S3Error, match="403 AccessDenied no"):
        client.retrying(flaky)
