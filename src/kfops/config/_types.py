"""Constrained value types shared by the platform model.

Each type checks one kind of value and says, in its error, what is allowed.
Errors raised here become one located line per problem in
:mod:`kfops.config._problems`.
"""

from __future__ import annotations

import ipaddress
import re
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
_QUANTITY = re.compile(
    r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGISTRY = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?(/[a-z0-9._/-]+)?$")
_LABEL_KEY = re.compile(r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
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
        if not _DNS_NAME.match(value):
            raise _fail(
                "host", "expected a lower-case DNS name (kubeflow.example.com) or an IP address"
            ) from None
    return value


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise _fail("ip", "expected an IP address such as 192.168.1.10") from None
    return value


def _address_range(value: str) -> str:
    try:
        if "-" in value:
            first, last = (ipaddress.ip_address(part.strip()) for part in value.split("-", 1))
            if first.version != last.version or int(first) > int(last):
                raise ValueError(value)
        else:
            ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise _fail(
            "address_range",
            "expected a CIDR (192.168.1.240/28) or a range (192.168.1.240-192.168.1.250)",
        ) from None
    return value


def matching(pattern: re.Pattern[str], kind: str, message: str) -> AfterValidator:
    """A check that the whole value matches `pattern`, failing with `message`."""

    def check(value: str) -> str:
        if not pattern.match(value):
            raise _fail(kind, message)
        return value

    return AfterValidator(check)


def _quantity(value: Any) -> str | int:
    if (not isinstance(value, str | int) or isinstance(value, bool)
            or not _QUANTITY.match(str(value))):
        raise _fail("quantity", "expected a Kubernetes quantity such as 16, 500m, 64Gi")
    return value


def _registry(value: str) -> str:
    host = value.split("/", 1)[0]
    # A first part without a dot or port is a Docker Hub namespace to every image tool.
    is_host = "." in host or ":" in host or host == "localhost"
    if "://" in value or not _REGISTRY.match(value) or not is_host:
        raise _fail(
            "registry", "expected a registry host with optional port and path, without a scheme "
            "(registry.internal:5000 or registry.internal/kubeflow)"
        )
    return value


def _release_version(value: str) -> str:
    semver = re.match(r"^v1\.(\d+)\.(\d+|x)$", value)
    if semver:
        if int(semver.group(1)) < 10:
            raise _fail("release_version", "kfops supports Kubeflow v1.10 and newer")
        return value
    if re.match(r"^\d{2}\.\d{2}(\.\d+)?$", value):
        return value
    raise _fail(
        "release_version",
        'expected a Kubeflow release such as "26.03", "v1.10.2" or "v1.11.x"',
    )


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Host = Annotated[str, AfterValidator(_host)]
IPAddress = Annotated[str, AfterValidator(_ip)]
AddressRange = Annotated[str, AfterValidator(_address_range)]
Email = Annotated[str, matching(
    _EMAIL, "email", "expected an e-mail address such as alice@example.com")]
BcryptHash = Annotated[str, matching(
    _BCRYPT, "bcrypt", "expected a bcrypt hash: $2y$12$ and 53 characters "
    "(htpasswd -nbBC 12 '' PASSWORD | tr -d ':\\n' prints one)")]
Quantity = Annotated[str | int, PlainValidator(_quantity, json_schema_input_type=str | int)]
EnvName = Annotated[str, matching(
    _ENV_NAME, "env_name", "expected an environment variable name such as GITHUB_SECRET")]
Registry = Annotated[str, AfterValidator(_registry)]
KubernetesMinor = Annotated[str, matching(
    re.compile(r"^1\.\d{2}$"), "k8s_version",
    'expected a Kubernetes minor version in quotes, such as "1.33"')]
ReleaseVersion = Annotated[str, AfterValidator(_release_version)]
AnnotationKey = Annotated[str, matching(
    _LABEL_KEY, "label_key", "expected a Kubernetes label or annotation key")]


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
            "secret values never go in the file: use {env: NAME}, {file: path} or {generate: true}",
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
