"""The identity features of a platform, in the order they shape the bundle."""

from __future__ import annotations

from kfops.config import UserEntry
from kfops.render import Contribution

from ._dex import Dex
from ._gateway_auth import GatewayJwt, RegistrationFlow
from ._oauth2_proxy import OAuth2Proxy


def identity_features(live_users: tuple[UserEntry, ...] = ()) -> tuple[Contribution, ...]:
    """Dex (keeping `live_users`, added with `kfops user add --live`), oauth2-proxy, the
    gateway's JWT rule and the registration flow."""
    return (Dex(live_users), OAuth2Proxy(), GatewayJwt(), RegistrationFlow())
