"""The identity features of a platform, in the order they shape the bundle."""

from __future__ import annotations

from kfops.render import Contribution

from ._dex import Dex
from ._gateway_auth import GatewayJwt, RegistrationFlow
from ._oauth2_proxy import OAuth2Proxy


def identity_features() -> tuple[Contribution, ...]:
    """Dex, oauth2-proxy, the gateway's JWT rule and the registration flow."""
    return (Dex(), OAuth2Proxy(), GatewayJwt(), RegistrationFlow())
