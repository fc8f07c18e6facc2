"""Copy every object of one S3 store into another, then verify the copy; run by a Job.

This file runs in the cluster: kfops ships its text in a ConfigMap and a Job
runs it (`python store_copy.py`) with the image of the new release's pipelines
profile controller, while the old store (MinIO in v1.10) and the new one
(SeaweedFS from v1.11) both run. Standard library only, Python 3.9 and newer.

Settings come from the environment: `SOURCE_ENDPOINT`, `SOURCE_ACCESS_KEY`,
`SOURCE_SECRET_KEY`, `TARGET_ENDPOINT`, `TARGET_ACCESS_KEY`,
`TARGET_SECRET_KEY` (endpoints `http(s)://host:port`, path-style requests);
optional: `SOURCE_REGION`/`TARGET_REGION` (us-east-1), `BUCKETS`
(comma-separated; default: every bucket of the source), `PART_SIZE` (bytes per
multipart part, 64 MiB; objects larger than a part go multipart), `RETRIES`
(5), `BACKOFF` (seconds before the first retry, doubling; 1), `WORKERS` (4),
`CA_FILE` (a PEM bundle for https endpoints).

What it does, so that an interrupted copy re-run converges:

1. For each bucket (made in the target when missing), list both sides
   (ListObjectsV2, paginated). An object the target already holds with the
   same size is skipped, unless both ETags are plain MD5 digests (no `-N`
   multipart suffix) and differ. Every other object is streamed from a GET
   into a PUT, or, above `PART_SIZE`, into a multipart upload whose parts are
   ranged GETs (each part retried on its own).
2. Requests are retried on 5xx, 429 and connection errors with backoff.
3. Both sides are listed again: each source object must be in the target
   with the same size (and ETag, when comparable). Objects only in the target
   (written by the new release itself) are counted, not a mismatch.
4. The last line of output is one JSON summary; the exit code is 0 when
   verified, 1 on any mismatch or error.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import hmac
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_CHUNK = 1 << 20
#: Mismatches named in the summary (the count covers all of them).
_SHOWN = 20


class S3Error(Exception):
    """An S3 answer that is not a success (status, code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(" ".join(part for part in (str(status), code, message) if part))
        self.status, self.code = status, code

    @property
    def retryable(self) -> bool:
        return self.status >= 500 or self.status == 429


@dataclass(frozen=True)
class Store:
    """One S3 endpoint and the key to sign requests for it with."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    ca_file: str | None = None

    @property
    def _url(self) -> urllib.parse.SplitResult:
        return urllib.parse.urlsplit(self.endpoint)

    def connection(self, timeout: float = 300.0) -> http.client.HTTPConnection:
        url = self._url
        if url.scheme == "https":
            context = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(str(url.hostname), url.port, timeout=timeout,
                                               context=context)
        return http.client.HTTPConnection(str(url.hostname), url.port, timeout=timeout)

    def signed_headers(self, method: str, path: str, query: dict[str, str],
                       headers: dict[str, str], payload_hash: str) -> dict[str, str]:
        """`headers` with SigV4's Host, X-Amz-Date, X-Amz-Content-Sha256 and Authorization."""
        now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - Python 3.9 too
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        all_headers = {k.lower(): v.strip() for k, v in headers.items()}
        all_headers.update({"host": str(self._url.netloc), "x-amz-date": stamp,
                            "x-amz-content-sha256": payload_hash})
        names = sorted(all_headers)
        canonical = "\n".join([
            method, path, canonical_query(query),
            "".join(f"{name}:{all_headers[name]}\n" for name in names),
            ";".join(names), payload_hash])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = _signing_key(self.secret_key, day, self.region)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        all_headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}")
        return all_headers


def _signing_key(secret: str, day: str, region: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_query(query: dict[str, str]) -> str:
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query.items()))


def _quote(value: str, safe: str = "-_.~") -> str:
    return urllib.parse.quote(value, safe=safe)


def object_path(bucket: str, key: str = "") -> str:
    """The path-style request path, each segment URI-encoded once (as S3 signs it)."""
    return f"/{_quote(bucket)}" + (f"/{_quote(key, safe='-_.~/')}" if key else "")


@dataclass(frozen=True)
class Entry:
    """One listed object."""

    key: str
    size: int
    etag: str

    def same_as(self, other: Entry) -> bool:
        """Equal size, and equal ETags where both are plain MD5 digests."""
        if self.size != other.size:
            return False
        plain = "-" not in self.etag and "-" not in other.etag and self.etag and other.etag
        return not plain or self.etag == other.etag


class StoreError(Exception):
    """A request to a store failed for good: which store, which request, what it answered."""


@dataclass
class Client:
    """Signed requests to one store, retried on 5xx, 429 and connection errors."""

    name: str
    """`source` or `target`, for messages."""
    store: Store
    retries: int = 5
    backoff: float = 1.0

    def call(self, method: str, path: str, query: dict[str, str] | None = None, *,
             body: bytes = b"", expect: tuple[int, ...] = (200,)
             ) -> tuple[int, dict[str, str], bytes]:
        """A request with a body held in memory; the status, headers and the whole answer."""
        def once() -> tuple[int, dict[str, str], bytes]:
            with self.open(method, path, query=query, body=body,
                           payload_hash=hashlib.sha256(body).hexdigest()) as answer:
                data = answer.read()
                _check(answer.status, data, expect)
                return answer.status, {k.lower(): v for k, v in answer.getheaders()}, data
        try:
            result: tuple[int, dict[str, str], bytes] = self.retrying(once)
        except (S3Error, OSError, http.client.HTTPException) as error:
            raise self.failed(f"{method} {path}", error) from error
        return result

    def failed(self, what: str, error: Exception) -> StoreError:
        """`error` of the request `what`, with the store named."""
        return StoreError(f"{self.name} store {self.store.endpoint}: {what}: "
                          f"{type(error).__name__}: {error}")

    def open(self, method: str, path: str, *, query: dict[str, str] | None = None,
             headers: dict[str, str] | None = None, body: Any = b"",
             payload_hash: str = _EMPTY_SHA256) -> _Answer:
        """Send one request (a body: bytes or an iterable of chunks) and return its answer."""
        query = query or {}
        signed = self.store.signed_headers(method, path, query, headers or {}, payload_hash)
        connection = self.store.connection()
        target = path + (f"?{canonical_query(query)}" if query else "")
        connection.request(method, target, body=body, headers=signed)
        return _Answer(connection, connection.getresponse())

    def retrying(self, attempt: Any) -> Any:
        pause = self.backoff
        for number in range(self.retries + 1):
            try:
                return attempt()
            except S3Error as error:
                if not error.retryable or number == self.retries:
                    raise
                say(f"retrying after {error}")
            except (OSError, http.client.HTTPException) as error:
                if number == self.retries:
                    raise
                say(f"retrying after {type(error).__name__}: {error}")
            time.sleep(pause)
            pause *= 2
        raise AssertionError("unreachable")

    def list_objects(self, bucket: str) -> dict[str, Entry]:
        """Every object of `bucket` (ListObjectsV2, page by page)."""
        found: dict[str, Entry] = {}
        query = {"list-type": "2", "encoding-type": "url"}
        while True:
            _, _, data = self.call("GET", object_path(bucket), query)
            root = ET.fromstring(data)
            encoded = (_text(root, "EncodingType") or "").lower() == "url"
            for item in root.iter(f"{_S3_NS}Contents"):
                key = _text(item, "Key") or ""
                key = urllib.parse.unquote_plus(key) if encoded else key
                found[key] = Entry(key, int(_text(item, "Size") or 0),
                                   (_text(item, "ETag") or "").strip('"'))
            token = _text(root, "NextContinuationToken")
            if (_text(root, "IsTruncated") or "false").lower() != "true" or not token:
                return found
            query = {**query, "continuation-token": token}

    def list_buckets(self) -> list[str]:
        _, _, data = self.call("GET", "/")
        return sorted(_text(b, "Name") or "" for b in ET.fromstring(data).iter(f"{_S3_NS}Bucket"))

    def ensure_bucket(self, bucket: str) -> None:
        """Make `bucket` unless it exists (HEAD, then PUT)."""
        status, _, _ = self.call("HEAD", object_path(bucket), expect=(200, 404))
        if status == 404:
            self.call("PUT", object_path(bucket), expect=(200,))
            say(f"made bucket {bucket} in the target")


class _Answer:
    """An HTTP answer and its connection, closed together."""

    def __init__(self, connection: http.client.HTTPConnection,
                 response: http.client.HTTPResponse) -> None:
        self.connection, self.response = connection, response
        self.status = response.status

    def read(self, amount: int | None = None) -> bytes:
        return self.response.read(amount)

    def getheaders(self) -> list[tuple[str, str]]:
        return self.response.getheaders()

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def _check(status: int, data: bytes, expect: tuple[int, ...]) -> None:
    if status in expect:
        return
    code, message = "", data[:200].decode("utf-8", "replace")
    try:
        root = ET.fromstring(data)
        code, message = root.findtext("Code") or "", root.findtext("Message") or ""
    except ET.ParseError:
        pass
    raise S3Error(status, code, message)


def _text(node: ET.Element, name: str) -> str | None:
    found = node.find(f"{_S3_NS}{name}")
    if found is None:
        found = node.find(name)  # some stores answer without the namespace
    return None if found is None else found.text


def say(line: str) -> None:
    """A progress line (the summary stays the last line)."""
    print(line, flush=True)


@dataclass
class Totals:
    """What the copy did and what the verification found."""

    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    buckets: dict[str, Any] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, copied: bool, size: int) -> None:
        with self.lock:
            if copied:
                self.copied += 1
                self.copied_bytes += size
            else:
                self.skipped += 1


@dataclass
class Copier:
    """Copies objects from `source` to `target`."""

    source: Client
    target: Client
    part_size: int = 64 << 20
    workers: int = 4
    totals: Totals = field(default_factory=Totals)

    def copy_bucket(self, bucket: str) -> None:
        self.target.ensure_bucket(bucket)
        source, target = self.source.list_objects(bucket), self.target.list_objects(bucket)
        todo = [entry for key, entry in sorted(source.items())
                if key not in target or not entry.same_as(target[key])]
        for _ in range(len(source) - len(todo)):
            self.totals.count(False, 0)
        say(f"bucket {bucket}: {len(source)} objects, {len(todo)} to copy")
        with concurrent.futures.ThreadPoolExecutor(max(1, self.workers)) as pool:
            for number, done in enumerate(pool.map(lambda e: self.copy(bucket, e), todo), 1):
                self.totals.count(True, done.size)
                if number % 500 == 0:
                    say(f"bucket {bucket}: {number}/{len(todo)} copied")

    def copy(self, bucket: str, entry: Entry) -> Entry:
        try:
            if entry.size > self.part_size:
                self._copy_multipart(bucket, entry)
            else:
                self.target.retrying(lambda: self._put(bucket, entry))
        except (S3Error, OSError, http.client.HTTPException) as error:
            raise self.target.failed(f"copying {bucket}/{entry.key}", error) from error
        return entry

    def _put(self, bucket: str, entry: Entry) -> None:
        path = object_path(bucket, entry.key)
        with self._get(path, None) as answer:
            self._send("PUT", path, {}, answer, entry.size)

    def _copy_multipart(self, bucket: str, entry: Entry) -> None:
        path = object_path(bucket, entry.key)
        _, _, data = self.target.call("POST", path, {"uploads": ""})
        upload = _text(ET.fromstring(data), "UploadId") or ""
        try:
            parts = []
            for number, start in enumerate(range(0, entry.size, self.part_size), 1):
                parts.append(self.target.retrying(
                    lambda n=number, s=start: self._part(path, upload, n, s, entry.size)))
            body = ("<CompleteMultipartUpload>" + "".join(
                f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
                for n, etag in parts) + "</CompleteMultipartUpload>").encode()
            _, _, answer = self.target.call("POST", path, {"uploadId": upload}, body=body)
            if b"<Error>" in answer:  # S3 may report a failed completion inside a 200
                _check(500, answer, ())
        except BaseException:
            try:  # leave no half upload behind; the copy's own error is the one to report
                self.target.call("DELETE", path, {"uploadId": upload}, expect=(200, 204, 404))
            except StoreError as error:
                say(f"could not abort the upload of {path}: {error}")
            raise

    def _part(self, path: str, upload: str, number: int, start: int,
              size: int) -> tuple[int, str]:
        end = min(start + self.part_size, size) - 1
        with self._get(path, f"bytes={start}-{end}") as answer:
            headers = self._send("PUT", path, {"partNumber": str(number), "uploadId": upload},
                                 answer, end - start + 1)
        return number, headers.get("etag", "")

    def _get(self, path: str, byte_range: str | None) -> _Answer:
        """The source object (or a range of it) as a stream; retried with the transfer."""
        headers = {"range": byte_range} if byte_range else {}
        answer = self.source.open("GET", path, headers=headers)
        if answer.status not in (200, 206):
            with answer:
                _check(answer.status, answer.read(), (200, 206))
        return answer

    def _send(self, method: str, path: str, query: dict[str, str], source: _Answer,
              length: int) -> dict[str, str]:
        """Stream `length` bytes of `source` into a request to the target."""
        headers = {"content-length": str(length)}
        with self.target.open(method, path, query=query, headers=headers,
                              body=_chunks(source, length),
                              payload_hash="UNSIGNED-PAYLOAD") as answer:
            data = answer.read()
            _check(answer.status, data, (200,))
            return {k.lower(): v for k, v in answer.getheaders()}


def _chunks(source: _Answer, length: int) -> Iterator[bytes]:
    left = length
    while left > 0:
        chunk = source.read(min(_CHUNK, left))
        if not chunk:
            # the source ended early: fail this transfer (it is retried from its GET)
            raise http.client.IncompleteRead(b"", left)
        left -= len(chunk)
        yield chunk


def verify(source: Client, target: Client, bucket: str, totals: Totals) -> None:
    """Compare both listings of `bucket`; record its counts and every mismatch."""
    old, new = source.list_objects(bucket), target.list_objects(bucket)
    for key, entry in sorted(old.items()):
        there = new.get(key)
        if there is None:
            totals.mismatches.append(f"{bucket}/{key}: missing in the target")
        elif entry.size != there.size:
            totals.mismatches.append(f"{bucket}/{key}: {entry.size} bytes in the source, "
                                     f"{there.size} bytes in the target")
        elif not entry.same_as(there):
            totals.mismatches.append(f"{bucket}/{key}: ETag {entry.etag} in the source, "
                                     f"{there.etag} in the target")
    copied = [new[key] for key in old if key in new]
    totals.buckets[bucket] = {
        "source": {"objects": len(old), "bytes": sum(e.size for e in old.values())},
        "target": {"objects": len(copied), "bytes": sum(e.size for e in copied)},
        "onlyInTarget": len(set(new) - set(old)),
    }


def summary(totals: Totals, error: str | None = None) -> dict[str, Any]:
    """The JSON summary: counts and bytes, what was copied and skipped, the mismatches."""
    buckets = totals.buckets
    result: dict[str, Any] = {
        "objects": sum(b["source"]["objects"] for b in buckets.values()),
        "bytes": sum(b["source"]["bytes"] for b in buckets.values()),
        "copied": totals.copied, "copiedBytes": totals.copied_bytes, "skipped": totals.skipped,
        "mismatchCount": len(totals.mismatches), "mismatches": totals.mismatches[:_SHOWN],
        "buckets": buckets,
        "verified": error is None and not totals.mismatches,
    }
    if error is not None:
        result["error"] = error
        result["verified"] = False
    return result


def _store(prefix: str, environ: dict[str, str]) -> Store:
    return Store(environ[f"{prefix}_ENDPOINT"], environ[f"{prefix}_ACCESS_KEY"],
                 environ[f"{prefix}_SECRET_KEY"], environ.get(f"{prefix}_REGION") or "us-east-1",
                 environ.get("CA_FILE") or None)


def run(environ: dict[str, str]) -> int:
    """Copy, verify, print the summary; the exit code."""
    retries, backoff = int(environ.get("RETRIES", "5")), float(environ.get("BACKOFF", "1"))
    source = Client("source", _store("SOURCE", environ), retries, backoff)
    target = Client("target", _store("TARGET", environ), retries, backoff)
    totals = Totals()
    copier = Copier(source, target, int(environ.get("PART_SIZE", str(64 << 20))),
                    int(environ.get("WORKERS", "4")), totals)
    error = None
    try:
        buckets = [b for b in (environ.get("BUCKETS") or "").split(",") if b] or \
            source.list_buckets()
        for bucket in buckets:
            copier.copy_bucket(bucket)
        for bucket in buckets:
            verify(source, target, bucket, totals)
    except StoreError as failure:
        error = str(failure)
    except ET.ParseError as failure:
        error = f"an answer that is not S3's XML: {failure}"
    result = summary(totals, error)
    print(json.dumps(result, sort_keys=True), flush=True)
    return 0 if result["verified"] else 1


def main() -> None:
    sys.exit(run(dict(os.environ)))


if __name__ == "__main__":
    main()
