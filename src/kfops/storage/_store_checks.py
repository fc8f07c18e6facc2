"""`kfops check` of `spec.objectStore`: reach the store from this machine with its keys.

For S3 (boto3): the bucket exists and the keys may read it (HeadBucket), then a
probe object `kfops-probe/<random>` is written, read back and deleted. For
Azure Blob (its REST API, `_azure_rest`): the container, then the same probe as
a blob. TLS is verified throughout, against `caBundle` when given. The keys are
never in a line: every detail is scrubbed of them, whatever a library's
message holds.
"""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from kfops.cluster import Check
from kfops.config import LoadedPlatform, ObjectStore, SecretRef
from kfops.errors import SecretUnavailable
from kfops.secrets import StateDir, resolve, state_dir_for

from ._azure_rest import AccountKeyInvalid, BlobClient, BlobResponse, blob_endpoint, decoded_key
from ._ca_bundle import ca_bundle_path

REACH = "objectStore reach"
WRITE = "objectStore write"
KEYS = "objectStore keys"
#: Where probe objects go: a prefix an administrator recognises (and may clean up).
PROBE_PREFIX = "kfops-probe/"
#: botocore's errors for a store that did not answer.
_UNREACHABLE = (botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError)
#: Seconds to connect and to wait for an answer: a check, not a transfer.
TIMEOUT = 5


def store_checks(loaded: LoadedPlatform) -> list[Check]:
    """Whether this machine reaches `spec.objectStore` with the configured keys."""
    store = loaded.platform.spec.object_store
    if store.type == "inCluster":
        return [Check("objectStore", "pass", "the release's own store; nothing to reach")]
    if store.type == "azureBlob":
        return _azure_checks(loaded, store)
    checks = _s3_checks(loaded, store)
    if store.per_namespace_credentials is not None:
        checks.append(Check(KEYS, "warn", (
            "each profile namespace needs the Secret "
            f"{store.per_namespace_credentials.secret_name} (keys accesskey, secretkey): "
            "creating them is the administrator's; kfops checks the platform's keys only")))
    return checks


class _Keys:
    """The secret values of one check, to scrub from every line it prints."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def add(self, value: str) -> str:
        if value:
            self.values.append(value)
        return value

    def scrub(self, check: Check) -> Check:
        detail = check.detail
        for value in self.values:
            detail = detail.replace(value, "<redacted>")
        return Check(check.name, check.state, detail)


def _resolve(loaded: LoadedPlatform, ref: SecretRef, at: str, keys: _Keys) -> str:
    """A store key's value; its references are {env} or {file}, never generated."""
    try:
        return keys.add(resolve(ref, loaded, StateDir.scratch(state_dir_for(loaded.path)), at))
    except SecretUnavailable as error:
        raise SecretUnavailable(f"{at}: {error}") from None  # the message is all it holds


# S3 ----------------------------------------------------------------------------------------

def _s3_checks(loaded: LoadedPlatform, store: ObjectStore) -> list[Check]:
    keys = _Keys()
    try:
        client, source = _s3_client(loaded, store, keys)
    except SecretUnavailable as error:
        return [Check(REACH, "fail", str(error))]
    except botocore.exceptions.BotoCoreError as error:  # this machine's AWS settings are broken
        return [keys.scrub(Check(REACH, "fail", f"boto3 on this machine: {error}"))]
    if client is None:
        return [Check(REACH, "warn", (
            "workload identity: the keys exist only in the cluster's pods; kfops cannot "
            "reach the store from here"))]
    return [keys.scrub(c) for c in _s3_probe(client, store, source)]


def _s3_client(loaded: LoadedPlatform, store: ObjectStore,
               keys: _Keys) -> tuple[Any | None, str]:
    """A client for the store and whose keys it uses (None: fromEnv, none on this machine)."""
    credentials = store.credentials
    assert credentials is not None  # checked with the platform file
    if credentials.from_env:
        session = boto3.session.Session()
        found = session.get_credentials()
        if found is None:
            return None, ""
        source = (f"with this machine's credentials ({found.method}), not the pods' "
                  "workload identity")
    else:
        assert credentials.access_key is not None and credentials.secret_key is not None
        at = "spec.objectStore.credentials"
        session = boto3.session.Session(
            aws_access_key_id=_resolve(loaded, credentials.access_key, f"{at}.accessKey", keys),
            aws_secret_access_key=_resolve(loaded, credentials.secret_key, f"{at}.secretKey",
                                           keys))
        source = "with the configured keys"
    config = botocore.config.Config(
        s3={"addressing_style": "path" if store.path_style else "virtual"},
        retries={"max_attempts": 1}, connect_timeout=TIMEOUT, read_timeout=TIMEOUT,
        # botocore 1.36 added checksums to every upload; many S3-compatible stores (GCS's
        # interoperability, older MinIO and Ceph) refuse them: only where S3 requires them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required")
    client = session.client("s3", endpoint_url=store.url, region_name=store.signing_region,
                            verify=_verify(loaded, store), config=config)
    return client, source


def _verify(loaded: LoadedPlatform, store: ObjectStore) -> str | bool:
    """The CA bundle file to verify the store's certificate with, else the default CAs."""
    path = ca_bundle_path(loaded, store)
    return True if path is None else str(path)


def _s3_probe(client: Any, store: ObjectStore, source: str) -> list[Check]:
    bucket = str(store.bucket)
    try:
        client.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as error:
        return [Check(REACH, "fail", _head_failure(error, store))]
    except botocore.exceptions.BotoCoreError as error:
        return [Check(REACH, "fail", _transport_failure(error, store))]
    reach = Check(REACH, "pass", f"bucket {bucket} at {store.url} {source}; {_tls(store)}")
    return [reach, _s3_write(client, bucket)]


def _tls(store: ObjectStore) -> str:
    if not store.tls:
        return "tls: false, unencrypted"
    if store.ca_bundle is not None:
        return f"TLS verified against caBundle {store.ca_bundle.file}"
    return "TLS verified against the default CA bundle"


def _head_failure(error: botocore.exceptions.ClientError, store: ObjectStore) -> str:
    bucket = store.bucket
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = error.response.get("Error", {}).get("Code", "")
    if status == 404 or code == "NoSuchBucket":
        return f"bucket {bucket} does not exist at {store.url}"
    if status == 403:
        return (f"the keys may not read bucket {bucket} (403 Forbidden: wrong keys, or a "
                "policy that refuses them)")
    if status in (301, 400) and store.aws:
        region = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(
            "x-amz-bucket-region")
        return (f"bucket {bucket} answered {status}: it is in region {region}, not "
                f"{store.region} (spec.objectStore.region)" if region else
                f"bucket {bucket} answered {status} {code}: check spec.objectStore.region")
    return f"bucket {bucket} answered {status} {code}".rstrip()


def _transport_failure(error: botocore.exceptions.BotoCoreError, store: ObjectStore) -> str:
    if isinstance(error, botocore.exceptions.SSLError):
        advice = (f"its certificate does not chain to spec.objectStore.caBundle "
                  f"({store.ca_bundle.file})" if store.ca_bundle is not None else
                  "give spec.objectStore.caBundle (the CA that signed the store's certificate)")
        return f"TLS verification of {store.url} failed: {advice} ({_reason(error)})"
    if isinstance(error, _UNREACHABLE):
        return f"cannot reach {store.url}: {_reason(error)}"
    return f"{store.url}: {error}"


def _reason(error: BaseException) -> str:
    """The innermost cause's text (urllib3 and ssl say what went wrong; botocore wraps it)."""
    inner = _innermost(error)
    return str(inner) or type(inner).__name__


def _innermost(error: BaseException) -> BaseException:
    inner = error
    while (outer := inner.__cause__ or inner.__context__) is not None:
        inner = outer
    return inner


def _s3_write(client: Any, bucket: str) -> Check:
    key = _probe_name()
    body = _probe_body()

    def get() -> bytes | _Failed:
        answer = _s3_call(lambda: client.get_object(Bucket=bucket, Key=key))
        return answer if isinstance(answer, _Failed) else _s3_call(answer["Body"].read)

    return _write_probe(
        f"s3://{bucket}/{key}", body,
        put=lambda: _s3_call(lambda: client.put_object(Bucket=bucket, Key=key, Body=body)),
        get=get, delete=lambda: _s3_call(lambda: client.delete_object(Bucket=bucket, Key=key)))


def _s3_call(call: Callable[[], Any]) -> Any:
    """What `call` returns, or _Failed with the store's error code and message."""
    try:
        return call()
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code") or error.response.get("ResponseMetadata", {}).get(
            "HTTPStatusCode")
        return _Failed(f"{code} ({details.get('Message') or 'no message'})")
    except botocore.exceptions.BotoCoreError as error:
        return _Failed(_reason(error))


# The probe, for either store ---------------------------------------------------------------

@dataclass(frozen=True)
class _Failed:
    """Why a step of the probe failed (the store's error code, or why it did not answer)."""

    why: str


def _probe_name() -> str:
    return PROBE_PREFIX + secrets.token_hex(8)


def _probe_body() -> bytes:
    return f"kfops check {secrets.token_hex(16)}\n".encode()


def _write_probe(where: str, body: bytes, put: Callable[[], object],
                 get: Callable[[], bytes | _Failed], delete: Callable[[], object]) -> Check:
    """Write `body`, read it back and delete it: each failure names its step; the delete is
    tried whatever the read gave."""
    put_result = put()
    if isinstance(put_result, _Failed):
        return Check(WRITE, "fail", f"put {where} failed: {put_result.why}")
    problems = []
    read = get()
    if isinstance(read, _Failed):
        problems.append(f"get {where} failed: {read.why}")
    elif read != body:
        problems.append(f"get {where} returned other bytes than were written")
    deleted = delete()
    if isinstance(deleted, _Failed):
        problems.append(f"delete {where} failed: {deleted.why} (remove it by hand)")
    if problems:
        return Check(WRITE, "fail", "; ".join(problems))
    return Check(WRITE, "pass", f"wrote, read back and deleted {where}")


# Azure Blob --------------------------------------------------------------------------------

def _azure_checks(loaded: LoadedPlatform, store: ObjectStore) -> list[Check]:
    blob = store.azure_blob
    assert blob is not None  # checked with the platform file
    keys = _Keys()
    try:
        key = decoded_key(_resolve(loaded, blob.key, "spec.objectStore.azureBlob.key", keys))
    except (SecretUnavailable, AccountKeyInvalid) as error:
        return [Check(REACH, "fail", str(error))]
    client = BlobClient(blob_endpoint(blob.account), blob.account, key, TIMEOUT)
    where = f"container {blob.container} of {client.endpoint}"
    try:
        found = client.container(blob.container)
    except OSError as error:
        return [keys.scrub(Check(REACH, "fail", _unreachable(error, client.endpoint)))]
    if not found.ok:
        return [keys.scrub(Check(REACH, "fail", _container_failure(found, blob.container, where)))]
    tls = ("TLS verified" if client.endpoint.startswith("https://")
           else "unencrypted (a test or emulator endpoint)")
    reach = Check(REACH, "pass", f"{where} with the account key; {tls}")
    return [keys.scrub(c) for c in (reach, _azure_write(client, blob.container))]


def _unreachable(error: OSError, endpoint: str) -> str:
    if isinstance(_innermost(error), ssl.SSLError):
        return (f"TLS verification of {endpoint} failed ({_reason(error)}): a TLS-inspecting "
                "proxy's CA can be added with SSL_CERT_FILE")
    return f"cannot reach {endpoint}: {_reason(error)}"


def _container_failure(found: BlobResponse, container: str, where: str) -> str:
    if found.status == 404:
        return f"container {container} does not exist ({where})"
    if found.status == 403:
        return (f"the account key may not read {where} (403 {found.error_code or 'Forbidden'}: "
                "a wrong or rotated key)")
    return f"{where} answered {found.status} {found.error_code or ''}".rstrip()


def _azure_write(client: BlobClient, container: str) -> Check:
    name = _probe_name()
    body = _probe_body()

    def get() -> bytes | _Failed:
        answer = _blob_call(lambda: client.get_blob(container, name))
        return answer if isinstance(answer, _Failed) else answer.body

    return _write_probe(
        f"blob {container}/{name}", body,
        put=lambda: _blob_call(lambda: client.put_blob(container, name, body)),
        get=get, delete=lambda: _blob_call(lambda: client.delete_blob(container, name)))


def _blob_call(call: Callable[[], BlobResponse]) -> BlobResponse | _Failed:
    """The service's 2xx answer, or _Failed with its status and error code (or why none)."""
    try:
        answer = call()
    except OSError as error:
        return _Failed(_reason(error))
    if answer.ok:
        return answer
    return _Failed(f"{answer.status} {answer.error_code or ''}".rstrip())
