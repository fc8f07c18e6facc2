"""Login: Dex static users and connectors, oauth2-proxy, the gateway's JWT rule."""

from ._dex import user_hash_env
from ._features import identity_features
from ._import import read_users_csv
from ._keep_live import live_user_guards
from ._live_users import DexUser, DexUsers, file_users
from ._passwords import (
    DEFAULT_COST,
    MIN_LENGTH,
    check_password,
    hash_cost,
    hash_password,
    hash_passwords,
    is_bcrypt_hash,
    password_problem,
    verify_password,
)
from ._urls import browser_uses_https

__all__ = [
    "DEFAULT_COST",
    "MIN_LENGTH",
    "DexUser",
    "DexUsers",
    "browser_uses_https",
    "check_password",
    "file_users",
    "hash_cost",
    "hash_password",
    "hash_passwords",
    "identity_features",
    "is_bcrypt_hash",
    "live_user_guards",
    "password_problem",
    "read_users_csv",
    "user_hash_env",
    "verify_password",
]
