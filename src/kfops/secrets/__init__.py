"""Secret references, generated values in the state directory, generated credentials, redaction."""

from ._features import credential_checks, credential_features
from ._redact import REDACTED, redact
from ._refs import resolve
from ._state import ALPHANUMERIC, StateDir, random_token, state_dir_for

__all__ = [
    "ALPHANUMERIC",
    "REDACTED",
    "StateDir",
    "credential_checks",
    "credential_features",
    "random_token",
    "redact",
    "resolve",
    "state_dir_for",
]
