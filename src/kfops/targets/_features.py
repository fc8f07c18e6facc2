"""The environment features of a platform, in the order they shape the bundle."""

from __future__ import annotations

from kfops.render import Contribution

from ._cookies import SecureCookies
from ._credentials import GeneratedCredentials, NoUpstreamCredentials
from ._ingress import GatewayService, IngressRoute
from ._metallb import MetalLB
from ._storage import NfsStorage
from ._tls import Https


def environment_features() -> tuple[Contribution, ...]:
    """Ingress, TLS, load balancer, storage, web-app cookies, generated credentials."""
    return (GatewayService(), IngressRoute(), Https(), MetalLB(), NfsStorage(), SecureCookies(),
            GeneratedCredentials())


def final_checks() -> tuple[Contribution, ...]:
    """Checks that must see every other feature's result."""
    return (NoUpstreamCredentials(),)
