"""The URLs users' browsers and identity providers see, derived from `ingress` and `tls`."""

from __future__ import annotations

from kfops.catalog import Settings
from kfops.config import Spec


def browser_uses_https(spec: Spec) -> bool:
    """Whether users reach the platform over HTTPS (at the gateway or at an Ingress)."""
    return spec.tls.mode != "none"


def public_url(spec: Spec) -> str | None:
    """`https://<host>` (or http without TLS), or None when no host is set."""
    if spec.ingress.host is None:
        return None
    return f"{'https' if browser_uses_https(spec) else 'http'}://{spec.ingress.host}"


def issuer(spec: Spec, settings: Settings) -> str:
    """Dex's issuer: on the public host when there is one, else Dex's in-cluster URL.

    Dex, oauth2-proxy and the gateway's RequestAuthentication must all use this
    one value, or tokens are refused.
    """
    url = public_url(spec)
    return f"{url}/dex" if url else settings.dex_internal_issuer


def internal_keys_url(settings: Settings) -> str:
    """Dex's key set inside the cluster (the gateway fetches keys here, not via the public name)."""
    return f"{settings.dex_internal_issuer}/keys"
