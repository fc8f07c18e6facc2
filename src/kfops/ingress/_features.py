"""The ingress features of a platform, in the order they shape the bundle."""

from __future__ import annotations

from kfops.render import Contribution

from ._cookies import SecureCookies
from ._gateway import GatewayService, IngressRoute
from ._metallb import MetalLB
from ._tls import Https


def ingress_features() -> tuple[Contribution, ...]:
    """The gateway Service, an optional Ingress, TLS, MetalLB and the web apps' cookies."""
    return (GatewayService(), IngressRoute(), Https(), MetalLB(), SecureCookies())
