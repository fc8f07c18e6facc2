"""Constrained value types shared by the platform model.

Each type checks one kind of value and says, in its error, what is allowed.
Errors raised here become one located line per problem in
:mod:`kfops.config._problems`.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BCRYPT = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
#: Dex and the dashboards refuse bcrypt hashes cheaper than this (and so does `kfops user`).
MIN_BCRYPT_COST = 10
_QUANTITY = re.compile(
    r"^\+?(?P<number>\d+(\.\d*)?|\.\d+)"
    r"(?P<suffix>[eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIXES = {"Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
             "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
             "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
             "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
             "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
             "": Decimal(1)}
#: C0 and C1 control characters (newline, tab, escape, ...) and Unicode line separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_QUALIFIED_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGISTRY = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?(/[a-z0-9._/-]+)?$")


def _fail(kind: str, message: str, context: dict[str, Any] | None = None) -> PydanticCustomError:
    return PydanticCustomError(kind, message, context)


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
        raise _fail(
            "dns_label",
            "expected a DNS label: lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters",
        )
    return value


def _host(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _DNS_NAME.fullmatch(value):
            raise _fail(
                "host", "expected a lower-case DNS name (kubeflow.example.com) or an IP address"
            ) from None  # ipaddress's error adds nothing to what is expected
    return value


def _dns_subdomain(value: str) -> str:
    if not _DNS_NAME.fullmatch(value):
        raise _fail(
            "dns_subdomain",
            "expected a Kubernetes object name: lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit, at most 253 characters",
        )
    return value


def _qualified_name(value: str) -> str:
    prefix, _, name = value.rpartition("/")
    if (prefix and not _DNS_NAME.fullmatch(prefix)) or not _QUALIFIED_NAME.fullmatch(name):
        raise _fail(
            "qualified_name",
            "expected a Kubernetes qualified name: an optional DNS prefix and '/', then at most "
            "63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit "
            "(example.com/my-key)",
        )
    return value


def _label_value(value: str) -> str:
    if not _LABEL_VALUE.fullmatch(value):
        raise _fail(
            "label_value",
            "expected a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit (or empty)",
        )
    return value


def _text(value: str) -> str:
    if _CONTROL.search(value):
        raise _fail("text", "expected text without control characters (newlines, tabs, escapes)")
    return value


def _email(value: str) -> str:
    if len(value) > 254 or _CONTROL.search(value) or not _EMAIL.fullmatch(value):
        raise _fail("email", "expected an e-mail address such as alice@example.com")
    return value


def _bcrypt(value: str) -> str:
    if not _BCRYPT.fullmatch(value):
        raise _fail("bcrypt", "expected a bcrypt hash: $2y$12$ and 53 characters "
                              "(htpasswd -nbBC 12 '' PASSWORD | tr -d ':\\n' prints one)")
    if not MIN_BCRYPT_COST <= int(value[4:6]) <= 31:
        raise _fail("bcrypt", f"a bcrypt hash of cost {int(value[4:6])}: use a cost of "
                              f"{MIN_BCRYPT_COST} to 31 ($2y$12$...: htpasswd -nbBC 12 '' "
                              "PASSWORD | tr -d ':\\n' prints one)")
    return value


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        # ipaddress's error adds nothing
        raise _fail("ip", "expected an IP address such as 192.168.1.10") from None
    return value


#: Addresses a load balancer must never hand out: "this network", loopback, link-local,
#: multicast and broadcast (a pool holding them would also be "everything": 0.0.0.0/0, ::/0).
_NOT_FOR_SERVICES = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "fe80::/10", "ff00::/8"))


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_bounds(value: str) -> tuple[Address, Address]:
    """First and last address of a range `a-b` or a CIDR; ValueError when it is neither."""
    if "-" in value:
        first, last = (ipaddress.ip_address(part.strip()) for part in value.split("-", 1))
        if first.version != last.version or int(first) > int(last):
            raise ValueError(value)
        return first, last
    network = ipaddress.ip_network(value, strict=False)
    return network[0], network[-1]


def _address_range(value: str) -> str:
    try:
        first, last = address_bounds(value)
    except ValueError:
        raise _fail(
            "address_range",
            "expected a CIDR (192.168.1.240/28) or a range (192.168.1.240-192.168.1.250)",
        ) from None  # the ValueError adds nothing to what is expected
    for reserved in _NOT_FOR_SERVICES:
        if reserved.version == first.version and \
                int(first) <= int(reserved[-1]) and int(reserved[0]) <= int(last):
            raise _fail(
                "address_range",
                "the range overlaps {reserved} (unspecified, loopback, link-local, multicast or "
                "broadcast addresses): give free addresses of the node network",
                {"reserved": str(reserved)},
            )
    return value


def matching(pattern: re.Pattern[str], kind: str, message: str) -> AfterValidator:
    """A check that the whole value matches `pattern`, failing with `message`."""

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise _fail(kind, message)
        return value

    return AfterValidator(check)


def _quantity(value: Any) -> str | int:
    if (not isinstance(value, str | int) or isinstance(value, bool)
            or not _QUANTITY.fullmatch(str(value))):
        raise _fail("quantity", "expected a non-negative Kubernetes quantity such as 16, 500m, "
                                "64Gi")
    return value


def quantity_value(value: str | int) -> Decimal:
    """The number a (checked) quantity stands for: `500m` is 0.5, `1Ki` is 1024."""
    match = _QUANTITY.fullmatch(str(value))
    assert match is not None, value
    suffix = match.group("suffix") or ""
    if suffix[:1] in ("e", "E") and suffix not in _SUFFIXES:
        return Decimal(match.group("number")) * Decimal(10) ** int(suffix[1:])
    return Decimal(match.group("number")) * _SUFFIXES[suffix]


def parse_quantity(value: str | int) -> Decimal | None:
    """The number a quantity read from the cluster stands for; None when it is not one."""
    if isinstance(value, bool) or not _QUANTITY.fullmatch(str(value)):
        return None
    return quantity_value(value)


def _registry(value: str) -> str:
    host = value.split("/", 1)[0]
    # A first part without a dot or port is a Docker Hub namespace to every image tool.
    is_host = "." in host or ":" in host or host == "localhost"
    if "://" in value or not _REGISTRY.fullmatch(value) or not is_host:
        raise _fail(
            "registry", "expected a registry host with optional port and path, without a scheme "
            "(registry.internal:5000 or registry.internal/kubeflow)"
        )
    return value


def _release_version(value: str) -> str:
    semver = re.fullmatch(r"^v1\.(\d+)\.(\d+|x)$", value)
    if semver:
        if int(semver.group(1)) < 10:
            raise _fail("release_version", "kfops supports Kubeflow v1.10 and newer")
        return value
    if re.fullmatch(r"^\d{2}\.\d{2}(\.\d+)?$", value):
        return value
    raise _fail(
        "release_version",
        'expected a Kubeflow release such as "26.03", "v1.10.2" or "v1.11.x"',
    )


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Host = Annotated[str, AfterValidator(_host)]
IPAddress = Annotated[str, AfterValidator(_ip)]
AddressRange = Annotated[str, AfterValidator(_address_range)]
Email = Annotated[str, AfterValidator(_email)]
BcryptHash = Annotated[str, AfterValidator(_bcrypt)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
"""The name of a Kubernetes object (Secret, IngressClass, StorageClass, ...)."""
QualifiedName = Annotated[str, AfterValidator(_qualified_name)]
"""A label, annotation or taint key; a resource name such as nvidia.com/gpu."""
LabelValue = Annotated[str, AfterValidator(_label_value)]
Text = Annotated[str, AfterValidator(_text)]
"""Free text shown to people (a user name, a login button): no control characters."""
Quantity = Annotated[str | int, PlainValidator(_quantity, json_schema_input_type=str | int)]
EnvName = Annotated[str, matching(
    _ENV_NAME, "env_name", "expected an environment variable name such as GITHUB_SECRET")]
Registry = Annotated[str, AfterValidator(_registry)]
KubernetesMinor = Annotated[str, matching(
    re.compile(r"^1\.\d{2}$"), "k8s_version",
    'expected a Kubernetes minor version in quotes, such as "1.33"')]
ReleaseVersion = Annotated[str, AfterValidator(_release_version)]
AnnotationKey = QualifiedName
_AZURE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
_AKS_NAME = re.compile(r"^[A-Za-z0-9]([-_A-Za-z0-9]{0,61}[A-Za-z0-9])?$")
_AZURE_REGION = re.compile(r"^[a-z][a-z0-9]{1,39}$")
#: Azure's naming rules (learn.microsoft.com/azure/azure-resource-manager/management/
#: resource-name-rules): Microsoft.Resources/resourcegroups and
#: Microsoft.ContainerService/managedClusters; regions by their programmatic name.
AzureResourceGroup = Annotated[str, matching(
    _AZURE_GROUP, "azure_name", "expected an Azure resource group name: 1 to 90 letters, digits, "
    "'-', '_', '.', '(' or ')', not ending with '.'")]
AksClusterName = Annotated[str, matching(
    _AKS_NAME, "azure_name", "expected an AKS cluster name: 1 to 63 letters, digits, '-' or '_', "
    "starting and ending with a letter or digit")]
AzureRegion = Annotated[str, matching(
    _AZURE_REGION, "azure_region", "expected an Azure region's programmatic name such as "
    "japaneast or westeurope (az account list-locations --query '[].name')")]


#: ResourceQuota names without a '/' that the API server takes (k8s.io/kubernetes
#: pkg/apis/core/helper IsStandardQuotaResourceName), besides hugepages-<size>.
QUOTA_RESOURCES = frozenset({
    "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.storage",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
    "pods", "resourcequotas", "services", "replicationcontrollers", "secrets",
    "persistentvolumeclaims", "configmaps", "services.nodeports", "services.loadbalancers",
})
#: Quota names that count objects, so take whole numbers only (IsIntegerResourceName).
_OBJECT_COUNTS = frozenset({
    "pods", "resourcequotas", "services", "replicationcontrollers", "secrets",
    "persistentvolumeclaims", "configmaps", "services.nodeports", "services.loadbalancers",
})


def _quota_name(value: str) -> str:
    if "/" in value:
        return _qualified_name(value)
    if value not in QUOTA_RESOURCES and not (
            value.startswith(("hugepages-", "requests.hugepages-"))
            and _QUALIFIED_NAME.fullmatch(value)):
        raise _fail(
            "quota_name",
            "expected a ResourceQuota resource: cpu, memory, ephemeral-storage, pods, services, "
            "secrets, configmaps, persistentvolumeclaims, requests.* or limits.* of those, "
            "hugepages-<size>, or a qualified name such as nvidia.com/gpu or count/jobs.batch",
        )
    return value


def whole_only(name: str) -> bool:
    """Whether the quota `name` counts objects, so its value must be a whole number."""
    return name in _OBJECT_COUNTS or name.startswith("count/")


QuotaName = Annotated[str, AfterValidator(_quota_name)]


def _source(value: str) -> str:
    _text(value)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", value)
    if scheme and scheme.group(1) not in ("http", "https"):
        raise _fail("source", "expected an https:// URL or a local path")
    if is_url(value) and re.search(r"[\s\"'`\\<>{}|^]", value):
        raise _fail("source", "a URL without spaces, quotes, backslashes or braces")
    return value


Source = Annotated[str, AfterValidator(_source)]
"""A `source`-style value: an http(s) URL or a local path (relative to the platform file)."""


def is_url(value: str) -> bool:
    """Whether a `source`-style value is a URL rather than a local path."""
    return value.startswith(("https://", "http://"))


class Strict(BaseModel):
    """Base of every platform model: strict types, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )


def _no_plain_secret(value: Any) -> Any:
    if isinstance(value, str):
        raise _fail(
            "plain_secret",
            "secret values never go in the file: use {env: NAME} or {file: path}",
        )
    return value


class SecretRef(Strict):
    """Where a secret value comes from: exactly one of `env`, `file`, `generate`."""

    env: EnvName | None = None
    """Name of an environment variable holding the value (read at render time)."""
    file: str | None = None
    """Path of a file holding the value, relative to the platform file."""
    generate: Literal[True] | None = None
    """kfops creates a random value once and keeps it in the state directory."""

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [k for k in ("env", "file", "generate") if getattr(self, k) is not None]
        if len(given) != 1:
            raise _fail(
                "secret_ref", "expected exactly one of {env: NAME}, {file: path}, {generate: true}"
            )
        return self


Secret = Annotated[SecretRef, BeforeValidator(_no_plain_secret)]
