"""Login: Dex static users and connectors, oauth2-proxy, the gateway's JWT rule."""

from ._dex import dex_password_hash, user_hash_env, user_id
from ._features import identity_features
from ._urls import browser_uses_https, issuer, public_url

__all__ = [
    "browser_uses_https",
    "dex_password_hash",
    "identity_features",
    "issuer",
    "public_url",
    "user_hash_env",
    "user_id",
]
