"""bcrypt hashing and the CSV of `kfops user import`."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfops.errors import InputError
from kfops.identity import (
    check_password,
    hash_cost,
    hash_password,
    hash_passwords,
    is_bcrypt_hash,
    password_problem,
    read_users_csv,
    verify_password,
)


def test_a_hash_verifies_and_carries_its_cost() -> None:
    made = hash_password("correct horse", cost=10)
    assert is_bcrypt_hash(made) and hash_cost(made) == 10
    assert verify_password("correct horse", made)
    assert not verify_password("wrong horse", made)
    assert hash_cost(hash_password("x")) == 12  # the default


@pytest.mark.parametrize(("password", "cost", "message"), [
    ("fine", 9, "bcrypt cost 9: use 10 to 31"),
    ("", 10, "the password is empty"),
    ("é" * 37, 10, "longer than 72 bytes"),
])
def test_weak_costs_and_unhashable_passwords_are_refused(password: str, cost: int,
                                                         message: str) -> None:
    with pytest.raises(InputError, match=message):
        hash_password(password, cost)


def test_parallel_hashes_match_their_passwords_in_order() -> None:
    passwords = [f"password-{i}" for i in range(6)]
    hashes = hash_passwords(passwords, cost=10, workers=3)
    assert len(set(hashes)) == 6
    assert all(verify_password(p, h) for p, h in zip(passwords, hashes, strict=True))


def test_csv_rows_give_users_with_hashes(tmp_path: Path) -> None:
    known = hash_password("kept as it is", cost=10)
    csv_file = tmp_path / "users.csv"
    csv_file.write_text(f"email,username,password\nann@example.com,ann,s3cret-ann-2026\n"
                        f"ben@example.com,,{known}\n\n")

    ann, ben = read_users_csv(csv_file, cost=10)

    assert (ann.email, ann.username, ben.username) == ("ann@example.com", "ann", None)
    assert verify_password("s3cret-ann-2026", ann.password_hash)
    assert ben.password_hash == known


@pytest.mark.parametrize(("text", "message"), [
    ("ann@example.com,ann\n", "users.csv:1: expected 3 columns"),
    ("ann@example.com,ann,pw\nANN@example.com,x,pw\n", "users.csv:2: ANN@example.com is listed"),
    ("ann@example.com,ann,\n", "users.csv:1: ann@example.com has no password"),
    ("not-an-email,ann,hunter2-secret\n", "users.csv:1: email: "),
    ("email,username,password\n", "no users"),
    ("ann@example.com,ann,hunter2\n", "users.csv:1: ann@example.com: the password has 7 "
                                       "characters; use at least 12"),
    ("ann@example.com,ann,ann@example.com\n", "users.csv:1: .* the user's own e-mail"),
    ("ann@example.com,ann,12341234\n", "Kubeflow's published default password"),
])
def test_csv_mistakes_name_the_line_and_never_the_password(tmp_path: Path, text: str,
                                                          message: str) -> None:
    csv_file = tmp_path / "users.csv"
    csv_file.write_text(text)
    with pytest.raises(InputError, match=message) as caught:
        read_users_csv(csv_file, cost=10)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(("password", "problem"), [
    ("", "empty or only whitespace"),
    (" \t            ", "empty or only whitespace"),
    ("12341234", "Kubeflow's published default password"),
    ("Ann@Example.com", "the user's own e-mail"),
    ("eleven-char", "has 11 characters; use at least 12"),
])
def test_password_rules(password: str, problem: str) -> None:
    assert problem in (password_problem(password, "ann@example.com") or "")
    with pytest.raises(InputError) as caught:
        check_password(password, "ann@example.com")
    assert problem in str(caught.value)
    assert password.strip() == "" or password not in str(caught.value).replace(
        "ann@example.com", "")


def test_a_good_password_passes() -> None:
    assert password_problem("twelve-chars", "ann@example.com") is None
