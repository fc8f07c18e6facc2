"""Secret references, generated values in the state directory and generated credentials."""

from ._features import credential_checks, credential_features
from ._refs import resolve
from ._state import StateDir, random_token, state_dir_for

__all__ = [
    "StateDir",
    "credential_checks",
    "credential_features",
    "random_token",
    "resolve",
    "state_dir_for",
]
