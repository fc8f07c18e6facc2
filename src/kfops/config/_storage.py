"""`spec.storage` and `spec.objectStore`: volumes and pipeline artifacts."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ._types import DnsSubdomain, Host, Secret, SecretRef, Source, Strict, Text, matching

NFS_SOURCE = (
    "https://raw.githubusercontent.com/kubernetes-sigs/nfs-subdir-external-provisioner/v4.0.2/deploy/"
)


class Nfs(Strict):
    """Install the NFS subdir provisioner as the default StorageClass."""

    server: Host
    """NFS server name or address."""
    path: Text
    """Exported path on the server."""
    source: Source = NFS_SOURCE
    """A folder (path or base URL) with rbac.yaml, deployment.yaml and class.yaml."""

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise PydanticCustomError(
                "nfs_path", "expected an absolute export path such as /srv/kubeflow"
            )
        return value


class Storage(Strict):
    """Persistent volumes for notebooks, pipelines and databases."""

    default_storage_class: DnsSubdomain | None = Field(None, alias="defaultStorageClass")
    """A StorageClass that must exist and be the default (checked before install); null: any."""
    nfs: Nfs | None = None


#: Bucket names as S3 (and GCS's interoperability) accept them; dots break TLS on
#: virtual-hosted addressing, so they are allowed but the docs advise against them.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: Azure storage account names (learn.microsoft.com: storage account overview).
_AZURE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
#: Azure container names (learn.microsoft.com: naming and referencing containers).
_AZURE_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
#: `{namespace}` is the only placeholder a per-namespace Secret name may hold.
_SECRET_TEMPLATE = re.compile(r"^([a-z0-9.-]|\{namespace\})+$")


def _bucket(value: str) -> str:
    if not _BUCKET.fullmatch(value) or ".." in value:
        raise PydanticCustomError(
            "bucket", "expected a bucket name: 3-63 lower-case letters, digits, '-' and '.', "
                      "starting and ending with a letter or digit")
    return value


class StoreCredentials(Strict):
    """An access key pair (secret references), or `fromEnv: true` for workload identity."""

    access_key: Secret | None = Field(None, alias="accessKey")
    secret_key: Secret | None = Field(None, alias="secretKey")
    from_env: Literal[True] | None = Field(None, alias="fromEnv")
    """No static key: the SDK's chain (IRSA on EKS, Workload Identity, instance roles)."""

    @model_validator(mode="after")
    def _one_kind(self) -> StoreCredentials:
        keys = (self.access_key, self.secret_key)
        if self.from_env and any(k is not None for k in keys):
            raise PydanticCustomError(
                "store_credentials", "give either accessKey and secretKey, or fromEnv: true")
        if not self.from_env and any(k is None for k in keys):
            raise PydanticCustomError(
                "store_credentials", "expected accessKey and secretKey (secret references), "
                                     "or fromEnv: true (workload identity)")
        if any(k is not None and k.generate for k in keys):
            raise PydanticCustomError(
                "store_credentials", "the store's keys come from its owner: use {env: NAME} or "
                                     "{file: path}, not generate")
        return self


class PerNamespaceCredentials(Strict):
    """A Secret the administrator creates in each profile namespace (keys accesskey, secretkey)."""

    secret_name: str = Field(alias="secretName")
    """The Secret's name; `{namespace}` stands for the profile's namespace."""

    @field_validator("secret_name")
    @classmethod
    def _template(cls, value: str) -> str:
        example = value.replace("{namespace}", "team-a")
        if not _SECRET_TEMPLATE.fullmatch(value) or len(example) > 253 \
                or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", example):
            raise PydanticCustomError(
                "secret_template", "expected a Secret name, optionally with {namespace} "
                                   "(e.g. kfp-artifacts or {namespace}-s3)")
        return value

    def name_for(self, namespace: str) -> str:
        """The Secret's name in `namespace`."""
        return self.secret_name.replace("{namespace}", namespace)


class CaBundle(Strict):
    """Certificate authorities the store's TLS certificate chains to (PEM, public data)."""

    file: Text
    """A PEM file, relative to the platform file."""


class AzureBlob(Strict):
    """An Azure Blob Storage container, reached through the release's SeaweedFS."""

    account: Annotated[str, matching(
        _AZURE_ACCOUNT, "azure_account",
        "expected a storage account name: 3-24 lower-case letters and digits")]
    container: Annotated[str, matching(
        _AZURE_CONTAINER, "azure_container",
        "expected a container name: 3-63 lower-case letters, digits and single '-', starting "
        "and ending with a letter or digit")]
    key: Secret
    """The account's access key, as a secret reference."""

    @field_validator("key")
    @classmethod
    def _not_generated(cls, value: SecretRef) -> SecretRef:
        if value.generate:
            raise PydanticCustomError(
                "store_credentials", "the account key comes from Azure: use {env: NAME} or "
                                     "{file: path}, not generate")
        return value


_S3_FIELDS = ("endpoint", "region", "bucket", "ca_bundle", "force_path_style", "credentials",
              "per_namespace_credentials")
#: AWS's S3 endpoints: s3.<region>.amazonaws.com, s3-<region>..., s3.dualstack.<region>...
_AWS_ENDPOINT = re.compile(
    r"^(?:.+\.)?s3(?:[.-]dualstack)?[.-](?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


class ObjectStore(Strict):
    """Where Kubeflow Pipelines keeps artifacts."""

    type: Literal["inCluster", "s3", "azureBlob"] = "inCluster"
    """inCluster: the release's MinIO/SeaweedFS; s3: AWS, S3-compatible or GCS (HMAC keys);
    azureBlob: a container mounted into the release's SeaweedFS."""
    endpoint: str | None = None
    """s3: the store's URL (https://host[:port]); default: AWS S3 in `region`."""
    region: str | None = None
    bucket: str | None = None
    tls: bool = True
    """s3: verify the store's certificate (an http:// endpoint needs tls: false)."""
    ca_bundle: CaBundle | None = Field(None, alias="caBundle")
    force_path_style: bool | None = Field(None, alias="forcePathStyle")
    """s3: https://host/bucket/key addressing; default: on for endpoints other than AWS."""
    credentials: StoreCredentials | None = None
    per_namespace_credentials: PerNamespaceCredentials | None = Field(
        None, alias="perNamespaceCredentials")
    """s3: each profile's pipelines use their own key from this Secret (isolation)."""
    azure_blob: AzureBlob | None = Field(None, alias="azureBlob")

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        return None if value is None else _bucket(value)

    @field_validator("endpoint")
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname \
                or parts.path not in ("", "/") or parts.query or parts.fragment \
                or parts.username or parts.password:
            raise PydanticCustomError(
                "endpoint", "expected the store's URL: https://host[:port] (no path, no "
                            "credentials)")
        try:
            _ = parts.port  # urlsplit checks the port only when asked
        except ValueError:
            raise PydanticCustomError("endpoint", "the port is not a number from 1 to 65535") \
                from None  # the ValueError adds nothing
        return value.rstrip("/")

    @field_validator("region")
    @classmethod
    def _region_text(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", value):
            raise PydanticCustomError(
                "region", "expected a region name such as eu-central-1 (lower-case letters, "
                          "digits and '-')")
        return value

    @property
    def aws(self) -> bool:
        """Whether the store is AWS S3 itself (no endpoint, or an amazonaws.com one)."""
        host = urlsplit(self.endpoint).hostname if self.endpoint else None
        return host is None or host == "s3.amazonaws.com" or bool(_AWS_ENDPOINT.match(host))

    @property
    def signing_region(self) -> str:
        """The region requests are signed for: `region`, else us-east-1 (which S3-compatible
        stores accept whatever they call themselves)."""
        return self.region or "us-east-1"

    @property
    def url(self) -> str:
        """The store's URL: the endpoint, or AWS S3's for the region."""
        if self.endpoint is not None:
            return self.endpoint
        return f"https://s3.{self.signing_region}.amazonaws.com"

    @property
    def path_style(self) -> bool:
        """Path-style addressing, after the default (off for AWS, on for other stores)."""
        return (not self.aws) if self.force_path_style is None else self.force_path_style


def object_store_problems(store: ObjectStore, release: str) -> list[tuple[str, str]]:
    """Problems of `spec.objectStore` that involve more than one field, as (path, message)."""
    at = "spec.objectStore"
    given = [name for name in _S3_FIELDS if getattr(store, name) is not None]
    aliases = {name: ObjectStore.model_fields[name].alias or name for name in _S3_FIELDS}
    problems: list[tuple[str, str]] = []
    if store.type != "s3":
        problems += [(f"{at}.{aliases[name]}", f"only for type s3 (type is {store.type})")
                     for name in given]
        if not store.tls:
            problems.append((f"{at}.tls", f"only for type s3 (type is {store.type})"))
    if store.type != "azureBlob" and store.azure_blob is not None:
        problems.append((f"{at}.azureBlob", f"only for type azureBlob (type is {store.type})"))
    if store.type == "s3":
        problems += _s3_problems(store)
    if store.type == "azureBlob":
        problems += _azure_problems(store, release)
    return problems


def _s3_problems(store: ObjectStore) -> list[tuple[str, str]]:
    at = "spec.objectStore"
    problems: list[tuple[str, str]] = []
    if store.bucket is None:
        problems.append((f"{at}.bucket", "type s3 needs the bucket that holds the artifacts"))
    if store.credentials is None:
        problems.append((f"{at}.credentials",
                         "type s3 needs {accessKey: {env: NAME}, secretKey: {env: NAME}} or "
                         "{fromEnv: true} (workload identity, no static key)"))
    if store.endpoint is None and store.region is None:
        problems.append((f"{at}.region", "AWS S3 (no endpoint given) needs the bucket's region"))
    scheme = urlsplit(store.endpoint).scheme if store.endpoint else "https"
    if scheme == "http" and store.tls:
        problems.append((f"{at}.endpoint", "an http:// endpoint sends keys and artifacts "
                                           "unencrypted; use https://, or set tls: false to "
                                           "accept that"))
    if scheme == "https" and not store.tls:
        problems.append((f"{at}.tls", "tls: false is for http:// endpoints; an https:// "
                                      "endpoint is always verified (give caBundle for a "
                                      "private CA)"))
    if store.ca_bundle is not None and scheme == "http":
        problems.append((f"{at}.caBundle", "a CA bundle needs an https:// endpoint"))
    host = urlsplit(store.endpoint).hostname if store.endpoint else None
    match = _AWS_ENDPOINT.match(host or "")
    if match and store.region is not None and match.group("region") != store.region:
        problems.append((f"{at}.region", f"the endpoint {host} is in region "
                                         f"{match.group('region')}, not {store.region}"))
    return problems


def _azure_problems(store: ObjectStore, release: str) -> list[tuple[str, str]]:
    at = "spec.objectStore"
    problems: list[tuple[str, str]] = []
    if store.azure_blob is None:
        problems.append((f"{at}.azureBlob",
                         "type azureBlob needs {account, container, key: {env: NAME}}"))
    if release.startswith("v1.10."):
        problems.append((f"{at}.type", _MINIO_GATEWAY))
    return problems


_MINIO_GATEWAY = (
    "azureBlob needs a release with SeaweedFS (v1.11 or newer): v1.10 keeps artifacts in MinIO, "
    "whose only route to Azure was `minio gateway azure` (removed from MinIO in 2022), and in "
    "multi-user mode it hands the storage account key to every profile namespace; use "
    "inCluster, or s3 with an S3-compatible store")
