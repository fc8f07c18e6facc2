"""`spec.auth`: Dex static users, connectors and the registration flow."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from ._types import BcryptHash, DnsLabel, Email, Secret, Strict, Text

#: Connector types that log in through OAuth2/OIDC and so need a client ID and secret.
OAUTH_CONNECTORS = frozenset({"github", "oidc", "microsoft", "gitlab", "google"})
#: Connector settings Dex cannot work without (dexidp.io/docs/connectors).
_REQUIRED_CONFIG = {"oidc": ("issuer",), "ldap": ("host", "userSearch")}


class StaticUser(Strict):
    """A Dex password-database user."""

    email: Email
    username: Text | None = None
    """Shown by Dex; default: the part of the e-mail before '@'."""
    password_hash: BcryptHash = Field(alias="passwordHash")
    """bcrypt hash; `kfops user add` writes it from a prompt."""


class Connector(Strict):
    """A Dex connector (upstream identity provider)."""

    type: Literal["github", "oidc", "microsoft", "ldap", "gitlab", "google"]
    id: DnsLabel
    name: Text
    """Shown on Dex's login page."""
    client_id: Text | None = Field(None, alias="clientID")
    client_secret: Secret | None = Field(None, alias="clientSecret")
    config: dict[str, Any] = {}
    """Further Dex connector settings, passed to Dex as they are after checks."""

    @model_validator(mode="after")
    def _oauth_credentials(self) -> Connector:
        if self.type in OAUTH_CONNECTORS and (self.client_id is None or self.client_secret is None):
            raise PydanticCustomError(
                "connector_credentials",
                "{type} connectors need clientID and clientSecret",
                {"type": self.type},
            )
        missing = [key for key in _REQUIRED_CONFIG.get(self.type, ()) if key not in self.config]
        if missing:
            raise PydanticCustomError(
                "connector_credentials", "{type} connectors need config.{keys}",
                {"type": self.type, "keys": ", config.".join(missing)},
            )
        if "redirectURI" in self.config:
            raise PydanticCustomError(
                "connector_credentials",
                "leave out config.redirectURI: kfops sets it to <ingress.host>/dex/callback",
            )
        if self.client_secret is not None and self.client_secret.generate:
            raise PydanticCustomError(
                "connector_credentials",
                "clientSecret: the identity provider issues it, kfops cannot generate it; use "
                "{env: NAME} or {file: path}",
            )
        return self


class Auth(Strict):
    """How people log in."""

    password_login: bool = Field(True, alias="passwordLogin")
    """Dex's password database (static users)."""
    users: list[StaticUser] = []
    connectors: list[Connector] = []
    registration_flow: bool = Field(False, alias="registrationFlow")
    """The central dashboard lets a new user create their own profile."""

    @model_validator(mode="after")
    def _unique(self) -> Auth:
        _reject_duplicates([u.email.lower() for u in self.users], "users", "email")
        _reject_duplicates([c.id for c in self.connectors], "connectors", "id")
        return self


def _reject_duplicates(values: list[str], what: str, key: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise PydanticCustomError(
                "duplicate", "{what}: {key} {value} appears twice",
                {"what": what, "key": key, "value": value},
            )
        seen.add(value)
