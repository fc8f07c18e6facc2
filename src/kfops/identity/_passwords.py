"""bcrypt hashes for Dex static users: one at a time, or many in parallel."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import bcrypt

from kfops.config import MIN_BCRYPT_COST
from kfops.errors import InputError

DEFAULT_COST = 12
MIN_COST = MIN_BCRYPT_COST
"""Below this a stolen hash is cheap to crack; Kubeflow's own default uses 12."""
_HASH = re.compile(r"^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$")
MIN_LENGTH = 12
KUBEFLOW_DEFAULT_PASSWORD = "12341234"
"""The password of Kubeflow's example user, published in its README."""


def password_problem(password: str, email: str) -> str | None:
    """Why `password` is not good enough for the user `email`, or None."""
    if not password.strip():
        return "the password is empty or only whitespace"
    if password == KUBEFLOW_DEFAULT_PASSWORD:
        return "this is Kubeflow's published default password; choose one of your own"
    if password.strip().lower() == email.strip().lower():
        return "the password is the user's own e-mail"
    if len(password) < MIN_LENGTH:
        return f"the password has {len(password)} characters; use at least {MIN_LENGTH}"
    return None


def check_password(password: str, email: str) -> None:
    """InputError (exit 2) when `password` breaks the password rules; never shows it."""
    problem = password_problem(password, email)
    if problem:
        raise InputError(f"{email}: {problem}")


def hash_password(password: str, cost: int = DEFAULT_COST) -> str:
    """The bcrypt hash of `password` (what Dex verifies)."""
    _check_cost(cost)
    encoded = password.encode()
    if not password:
        raise InputError("the password is empty")
    if len(encoded) > 72:
        raise InputError("the password is longer than 72 bytes, which bcrypt cannot hash")
    return bcrypt.hashpw(encoded, bcrypt.gensalt(cost)).decode()


def hash_passwords(passwords: Sequence[str], cost: int = DEFAULT_COST,
                   workers: int | None = None) -> list[str]:
    """Hashes of `passwords`, in order, computed on all cores (bcrypt releases the GIL)."""
    _check_cost(cost)
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(passwords) < 2:
        return [hash_password(p, cost) for p in passwords]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: hash_password(p, cost), passwords))


def is_bcrypt_hash(value: str) -> bool:
    """Whether `value` is a bcrypt hash (as opposed to a password to hash)."""
    return _HASH.match(value) is not None


def hash_cost(value: str) -> int:
    """The cost a bcrypt hash was made with."""
    found = _HASH.match(value)
    if found is None:
        raise InputError("not a bcrypt hash")
    return int(found.group(1))


def verify_password(password: str, password_hash: str) -> bool:
    """Whether `password` matches the bcrypt hash."""
    return bcrypt.checkpw(password.encode(), password_hash.encode())


def _check_cost(cost: int) -> None:
    if not MIN_COST <= cost <= 31:
        raise InputError(f"bcrypt cost {cost}: use {MIN_COST} to 31 (default {DEFAULT_COST})")
