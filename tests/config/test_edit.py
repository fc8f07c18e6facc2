"""Round-trip edits of platform files: comments and layout survive; bad edits write nothing."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from kfops.config import (
    UserEntry,
    add_profile,
    add_users,
    edit_platform,
    load_platform,
    remove_contributor,
    remove_profile,
    remove_user,
    set_contributor,
    set_user_password,
)
from kfops.errors import ConfigError, InputError
from kfops.targets import starter_text
from tests.helpers.presets import fill

HASH_A = "$2b$12$" + "a" * 53
HASH_B = "$2b$12$" + "b" * 53


def _starter(tmp_path: Path, target: str) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(fill(starter_text(target)))
    path.chmod(0o640)
    return path


def _added_lines(before: str, after: str) -> list[str]:
    """The lines an edit added; fails when it removed or changed any."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [line for line in diff if line.startswith("- ")], "an edit changed other lines"
    return [line[2:] for line in diff if line.startswith("+ ")]


@pytest.mark.parametrize("target", ["local", "onprem", "aks", "generic"])
def test_an_edit_keeps_every_comment_and_line_of_each_starter(tmp_path: Path,
                                                              target: str) -> None:
    path = _starter(tmp_path, target)
    before = path.read_text()

    if target == "aks":  # password login is off there: a user is refused, nothing written
        with pytest.raises(ConfigError, match=r"static users need spec\.auth\.passwordLogin"):
            edit_platform(path, add_users([UserEntry("bob@example.com", "bob", HASH_A)]))
        assert path.read_text() == before
    else:
        edit_platform(path, add_users([UserEntry("bob@example.com", "bob", HASH_A)]))
    edit_platform(path, add_profile("team-a", "bob@example.com", {"nvidia.com/gpu": "2"},
                                    ["pipelineAccess"]))

    added = _added_lines(before, path.read_text())
    assert ("- email: bob@example.com" in "\n".join(added)) == (target != "aks")
    assert "  - name: team-a" in added or "- name: team-a" in [a.strip() for a in added]
    assert path.stat().st_mode & 0o777 == 0o640


def test_an_edit_that_changes_nothing_rewrites_nothing(tmp_path: Path) -> None:
    path = _starter(tmp_path, "onprem")
    before = path.read_bytes()
    stat = path.stat()

    edit_platform(path, lambda tree: None)

    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == stat.st_mtime_ns


def test_users_are_added_changed_and_removed_in_place(tmp_path: Path) -> None:
    path = _starter(tmp_path, "local")
    edit_platform(path, add_users([UserEntry("bob@example.com", None, HASH_A),
                                   UserEntry("carol@example.com", "carol", HASH_A)]))

    loaded = edit_platform(path, set_user_password("BOB@example.com", HASH_B)).ready()
    assert [(u.email, u.password_hash) for u in loaded.platform.spec.auth.users] == [
        ("bob@example.com", HASH_B), ("carol@example.com", HASH_A)]
    loaded = edit_platform(path, remove_user("bob@example.com")).ready()
    assert [u.email for u in loaded.platform.spec.auth.users] == ["carol@example.com"]
    with pytest.raises(InputError, match=r"already in spec\.auth\.users"):
        edit_platform(path, add_users([UserEntry("carol@example.com", None, HASH_B)]))
    loaded = edit_platform(path, add_users([UserEntry("carol@example.com", None, HASH_B)],
                                           replace=True)).ready()
    assert loaded.platform.spec.auth.users[0].password_hash == HASH_B


def test_profiles_and_contributors_are_edited(tmp_path: Path) -> None:
    path = _starter(tmp_path, "local")
    edit_platform(path, add_profile("team-a", "alice@example.com", {"cpu": "16"}, []))
    edit_platform(path, set_contributor("team-a", "bob@example.com", "view"))
    loaded = edit_platform(path, set_contributor("team-a", "bob@example.com", "edit")).ready()
    [profile] = loaded.platform.spec.profiles
    assert [(c.email, c.role) for c in profile.contributors] == [("bob@example.com", "edit")]
    with pytest.raises(InputError, match="owns profile team-a"):
        edit_platform(path, set_contributor("team-a", "alice@example.com", "view"))
    loaded = edit_platform(path, remove_contributor("team-a", "bob@example.com")).ready()
    assert loaded.platform.spec.profiles[0].contributors == []
    loaded = edit_platform(path, remove_profile("team-a")).ready()
    assert loaded.platform.spec.profiles == []


def test_an_edit_that_would_make_the_file_invalid_writes_nothing(tmp_path: Path) -> None:
    path = _starter(tmp_path, "local")
    before = path.read_bytes()

    with pytest.raises(ConfigError) as caught:
        edit_platform(path, add_users([UserEntry("not-an-email", None, HASH_A)]))

    assert "spec.auth.users[0].email" in str(caught.value)
    assert path.read_bytes() == before
    with pytest.raises(ConfigError, match="expected a bcrypt hash"):
        edit_platform(path, add_users([UserEntry("bob@example.com", None, "plain-password")]))
    assert path.read_bytes() == before
    assert "plain-password" not in str(caught.value)


def test_the_first_user_of_a_file_nobody_can_log_in_with_yet(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    generic = fill(starter_text("generic"))
    path.write_text(generic[:generic.index("    users:")] + "    passwordLogin: true\n"
                    "    users: []\n")
    with pytest.raises(ConfigError, match="no one could log in"):
        load_platform(path)

    edited = edit_platform(path, add_users([UserEntry("admin@example.com", None, HASH_A)]))

    assert edited.remaining == ()
    assert [u.email for u in edited.ready().platform.spec.auth.users] == ["admin@example.com"]
    assert [u.email for u in load_platform(path).platform.spec.auth.users] == [
        "admin@example.com"]


def test_the_starters_placeholder_user_is_replaced_and_other_placeholders_stay(
        tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(starter_text("generic"))  # as `kfops init` writes it

    edited = edit_platform(path, add_users([UserEntry("admin@example.com", None, HASH_A)]))

    assert edited.loaded is None
    assert [p.path for p in edited.remaining] == ["spec.ingress.host"]
    with pytest.raises(ConfigError, match="placeholder left in"):
        edited.ready()
    text = path.read_text()
    assert "admin@example.com" in text and "the first user's e-mail" not in text
    assert "<fill in: the DNS name users open" in text  # still for the administrator to fill

    # A profile on the same unfinished file: written too; a new mistake is still refused.
    assert edit_platform(path, add_profile("team-a", "admin@example.com", {}, [])).remaining
    before = path.read_bytes()
    with pytest.raises(ConfigError) as caught:
        edit_platform(path, add_profile("Team_B", "admin@example.com", {}, []))
    assert [p.path for p in caught.value.problems] == ["spec.profiles[1].name"]
    assert path.read_bytes() == before
