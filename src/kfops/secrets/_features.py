"""The secret features of a platform: credentials generated per install, and the last check."""

from __future__ import annotations

from kfops.render import Contribution

from ._credentials import GeneratedCredentials, NoUpstreamCredentials


def credential_features() -> tuple[Contribution, ...]:
    """Generated database and object-store credentials instead of the release's own."""
    return (GeneratedCredentials(),)


def credential_checks() -> tuple[Contribution, ...]:
    """Checks that must see every other feature's result (no upstream default is left)."""
    return (NoUpstreamCredentials(),)
