"""Azure Blob Storage's REST API, signed with the storage account key (Shared Key).

Just what `kfops check` needs: look a container up, and put, get and delete one
blob. Requests are signed as Microsoft documents for the Blob service (version
2009-09-19 and later string-to-sign):
https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key

The standard library's HTTP client carries them: Microsoft's SDK would bring a
dependency tree for four requests, and the cluster packages own the project's
other HTTP clients.

The account's endpoint is https://<account>.blob.core.windows.net.
KFOPS_AZURE_BLOB_ENDPOINT replaces it: a hook for tests and emulators only,
in Azurite's form http://127.0.0.1:PORT/devstoreaccount1 (the account's name is
the first segment of the path, and takes part in the signature as such).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import parse_qsl, quote, urlsplit

#: The REST API version kfops speaks (x-ms-version); any from 2015-02-21 on signs the same.
API_VERSION = "2021-12-02"
#: The test and emulator hook (module docstring).
ENDPOINT_VARIABLE = "KFOPS_AZURE_BLOB_ENDPOINT"
#: Standard headers that take part in the string-to-sign, in the documented order.
_SIGNED_HEADERS = (
    "content-encoding", "content-language", "content-length", "content-md5", "content-type",
    "date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
)


class AccountKeyInvalid(ValueError):
    """The account key is not base64 (its text is never in the message)."""


def blob_endpoint(account: str) -> str:
    """The Blob service URL of `account` (KFOPS_AZURE_BLOB_ENDPOINT for tests and emulators)."""
    override = os.environ.get(ENDPOINT_VARIABLE)
    if override:
        return override.rstrip("/")
    return f"https://{account}.blob.core.windows.net"


def decoded_key(key: str) -> bytes:
    """The account key's bytes; AccountKeyInvalid when it is not base64."""
    try:
        return base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        # no cause: the decoder's message may quote the key
        raise AccountKeyInvalid("the account key is not base64 text (copy key1 or key2 from "
                                "the storage account's Access keys)") from None


def authorization(method: str, url: str, headers: dict[str, str], account: str,
                  key: bytes) -> str:
    """The Authorization header of a Shared Key request (`headers` as they are sent)."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    standard = [lowered.get(name, "") for name in _SIGNED_HEADERS]
    if lowered.get("content-length") == "0":
        standard[_SIGNED_HEADERS.index("content-length")] = ""  # 2015-02-21 on: empty, not 0
    ms_headers = "".join(f"{name}:{value}\n" for name, value in sorted(lowered.items())
                         if name.startswith("x-ms-"))
    string_to_sign = "\n".join([method.upper(), *standard, ms_headers + _resource(url, account)])
    digest = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return f"SharedKey {account}:{base64.b64encode(digest).decode('ascii')}"


def _resource(url: str, account: str) -> str:
    """The canonicalized resource: /account/path, then each query parameter sorted by name."""
    parts = urlsplit(url)
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(name.lower(), []).append(value)
    lines = [f"/{account}{parts.path or '/'}"]
    lines += [f"{name}:{','.join(sorted(values))}" for name, values in sorted(query.items())]
    return "\n".join(lines)


@dataclass(frozen=True)
class BlobResponse:
    """What the service answered: status, its error code (x-ms-error-code) and the body."""

    status: int
    error_code: str | None
    body: bytes

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300


@dataclass(frozen=True)
class BlobClient:
    """Signed requests to one storage account (the key already decoded)."""

    endpoint: str
    account: str
    key: bytes
    timeout: float = 5.0
    tls: ssl.SSLContext | None = None

    def container(self, container: str) -> BlobResponse:
        """Get Container Properties."""
        return self.request("GET", quote(container), "restype=container")

    def put_blob(self, container: str, blob: str, data: bytes) -> BlobResponse:
        """Put Blob (a block blob, in one request)."""
        return self.request("PUT", f"{quote(container)}/{quote(blob)}", data=data,
                            headers={"x-ms-blob-type": "BlockBlob",
                                     "Content-Type": "application/octet-stream"})

    def get_blob(self, container: str, blob: str) -> BlobResponse:
        """Get Blob."""
        return self.request("GET", f"{quote(container)}/{quote(blob)}")

    def delete_blob(self, container: str, blob: str) -> BlobResponse:
        """Delete Blob."""
        return self.request("DELETE", f"{quote(container)}/{quote(blob)}")

    def request(self, method: str, path: str, query: str = "", data: bytes = b"",
                headers: dict[str, str] | None = None) -> BlobResponse:
        """A signed request; an HTTP error is an answer too (OSError: no answer)."""
        url = f"{self.endpoint}/{path}" + (f"?{query}" if query else "")
        sent = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION,
                "Content-Length": str(len(data)), **(headers or {})}
        body = data if method in ("PUT", "POST") else None
        if body is not None:
            # urllib adds a form Content-Type to any body it is not given one for, after signing
            sent.setdefault("Content-Type", "application/octet-stream")
        sent["Authorization"] = authorization(method, url, sent, self.account, self.key)
        request = urllib.request.Request(url, data=body, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.tls) as answer:
                return BlobResponse(answer.status, None, answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return BlobResponse(error.code, error.headers.get("x-ms-error-code"),
                                    error.read())
