"""`kfops user import`: users from a CSV file (email, username, password or bcrypt hash)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from kfops.config import CSV_FILE_LIMIT, FileRefused, StaticUser, UserEntry, read_limited
from kfops.errors import InputError

from ._passwords import DEFAULT_COST, hash_passwords, is_bcrypt_hash, password_problem


@dataclass(frozen=True)
class _Row:
    line: int
    email: str
    username: str | None
    secret: str
    """A password to hash, or a bcrypt hash as it is."""


def read_users_csv(path: Path, cost: int = DEFAULT_COST,
                   workers: int | None = None) -> list[UserEntry]:
    """The users of a CSV file, passwords hashed on all cores; errors name the line."""
    rows = _rows(path)
    to_hash = [row for row in rows if not is_bcrypt_hash(row.secret)]
    for row in to_hash:
        problem = password_problem(row.secret, row.email)
        if problem:
            raise InputError(f"{path}:{row.line}: {row.email}: {problem}")
    hashes = dict(zip((r.line for r in to_hash),
                      hash_passwords([r.secret for r in to_hash], cost, workers), strict=True))
    users = [UserEntry(r.email, r.username, hashes.get(r.line, r.secret)) for r in rows]
    _check(path, rows, users)
    return users


def _rows(path: Path) -> list[_Row]:
    # At most 1 MiB: the users must fit in the platform file (or Dex's Secret), which are.
    try:
        text = read_limited(path, CSV_FILE_LIMIT).decode("utf-8")
        records = list(csv.reader(io.StringIO(text, newline="")))
    except (OSError, UnicodeDecodeError, csv.Error, FileRefused) as error:
        # no cause: a UnicodeDecodeError holds the file's bytes (password hashes)
        raise InputError(f"{path}: cannot read: {error}") from None
    rows, seen = [], set()
    for number, record in enumerate(records, 1):
        cells = [c.strip() for c in record]
        if not any(cells) or (number == 1 and cells[0].lower() == "email"):
            continue
        if len(cells) != 3:
            raise InputError(f"{path}:{number}: expected 3 columns (email, username, password "
                             f"or bcrypt hash), found {len(cells)}")
        email, username, secret = cells
        if email.lower() in seen:
            raise InputError(f"{path}:{number}: {email} is listed twice")
        if not secret:
            raise InputError(f"{path}:{number}: {email} has no password or hash")
        seen.add(email.lower())
        rows.append(_Row(number, email, username or None, secret))
    if not rows:
        raise InputError(f"{path}: no users")
    return rows


def _check(path: Path, rows: Sequence[_Row], users: Sequence[UserEntry]) -> None:
    for row, user in zip(rows, users, strict=True):
        try:
            StaticUser.model_validate({"email": user.email, "username": user.username,
                                       "passwordHash": user.password_hash})
        except PydanticValidationError as error:
            # The message of the first problem; never the value (it may be a password), so no
            # cause either: pydantic's quotes it.
            problem = error.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            raise InputError(f"{path}:{row.line}: {where}: {problem['msg']}") from None
