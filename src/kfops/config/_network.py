"""`spec.ingress`, `spec.metallb`, `spec.tls`: how users reach the platform."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ._types import (
    AddressRange,
    AnnotationKey,
    DnsSubdomain,
    Email,
    Host,
    IPAddress,
    Source,
    Strict,
)

METALLB_SOURCE = (
    "https://raw.githubusercontent.com/metallb/metallb/v0.16.1/config/manifests/metallb-native.yaml"
)
#: cert-manager's ACMEChallengeSolverDNS01 providers (exactly one per solver).
DNS01_PROVIDERS = frozenset(
    {"acmeDNS", "akamai", "azureDNS", "cloudDNS", "cloudflare", "digitalocean", "rfc2136",
     "route53", "webhook"}
)
#: The API server's limit on all annotations of one object together (keys and values).
ANNOTATIONS_LIMIT = 256 * 1024
ACME_SERVERS = {
    "production": "https://acme-v02.api.letsencrypt.org/directory",
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}


class Ingress(Strict):
    """How users reach Kubeflow: the Istio ingress gateway and the host name."""

    host: Host | None = None
    """Name or IP users reach; drives the Dex issuer, redirect URLs and certificates."""
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] | None = Field(
        None, alias="serviceType"
    )
    """Type of the istio-ingressgateway Service; default: ClusterIP on local, else LoadBalancer."""
    load_balancer_ip: IPAddress | None = Field(None, alias="loadBalancerIP")
    """Written as the load balancer implementation's annotation (MetalLB, Azure)."""
    annotations: dict[AnnotationKey, str] = {}
    """Annotations on the gateway Service (cloud load balancer settings); 256 KiB in all."""
    ingress_class: DnsSubdomain | None = Field(None, alias="ingressClass")
    """Also emit an Ingress of this class for `host`; TLS then terminates at that Ingress."""

    @field_validator("annotations", mode="before")
    @classmethod
    def _within_limit(cls, value: Any) -> Any:
        # Before each key is checked: 20,000 annotations are refused at once, for their size.
        if not isinstance(value, dict):
            return value
        total = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in value.items())
        if total > ANNOTATIONS_LIMIT:
            raise PydanticCustomError(
                "annotations_size", "annotations of {total} bytes in all: the API server takes "
                "at most 256 KiB ({limit} bytes) per object",
                {"total": total, "limit": ANNOTATIONS_LIMIT})
        return value


class MetalLB(Strict):
    """Install MetalLB and give it addresses (on-premises)."""

    addresses: list[AddressRange] = Field(min_length=1)
    """Address ranges or CIDRs MetalLB may hand out."""
    source: Source = METALLB_SOURCE
    """MetalLB's metallb-native.yaml: a URL (cached) or a local path."""


class Acme(Strict):
    """Certificates from an ACME server (Let's Encrypt) through cert-manager."""

    email: Email
    """Contact address registered with the ACME server."""
    server: str = "production"
    """production | staging | an ACME directory URL."""
    solver: Literal["http01", "dns01"] = "http01"
    """http01: the host is reachable from the internet; dns01: prove ownership through DNS."""
    dns01: dict[str, Any] = {}
    """cert-manager DNS-01 provider config (azureDNS, cloudflare, rfc2136, ...)."""

    @field_validator("server")
    @classmethod
    def _known_server(cls, value: str) -> str:
        if value not in ACME_SERVERS and not value.startswith("https://"):
            raise PydanticCustomError(
                "acme_server", "expected production, staging or an https:// ACME directory URL"
            )
        return value

    @field_validator("dns01")
    @classmethod
    def _one_provider(cls, value: dict[str, Any]) -> dict[str, Any]:
        providers = [k for k in value if k in DNS01_PROVIDERS]
        unknown = [k for k in value if k not in DNS01_PROVIDERS and k != "cnameStrategy"]
        if unknown:
            raise PydanticCustomError(
                "dns01", "unknown DNS-01 provider {unknown}; allowed: {allowed}",
                {"unknown": ", ".join(unknown), "allowed": ", ".join(sorted(DNS01_PROVIDERS))},
            )
        if value and len(providers) != 1:
            raise PydanticCustomError("dns01", "expected exactly one DNS-01 provider")
        return value

    @model_validator(mode="after")
    def _dns01_config(self) -> Acme:
        if self.solver == "dns01" and not self.dns01:
            raise PydanticCustomError(
                "dns01", "solver dns01 needs the provider configuration in acme.dns01"
            )
        return self


class TLS(Strict):
    """Where the HTTPS certificate of `ingress.host` comes from."""

    mode: Literal["none", "selfSigned", "acme", "secret"] = "none"
    secret_name: DnsSubdomain = Field("kubeflow-tls", alias="secretName")
    """mode secret: an existing TLS Secret in istio-system."""
    acme: Acme | None = None
    ip_addresses: list[IPAddress] = Field([], alias="ipAddresses")
    """Extra IP SANs of a selfSigned certificate (access by IP)."""

    @model_validator(mode="after")
    def _acme_settings(self) -> TLS:
        if self.mode == "acme" and self.acme is None:
            raise PydanticCustomError("tls_acme", "mode acme needs the acme section (email, ...)")
        return self
