"""`kfops user add|passwd|remove|list|import`: Dex static users.

By default a command edits `spec.auth.users` in the platform file (and with
`--apply` applies it); `--live` changes the running cluster's Dex instead.
Passwords are read from a hidden prompt or the first line of stdin, never
from an argument, and only their bcrypt hashes are written anywhere.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from kfops.cluster import WaitSettings
from kfops.config import (
    UserEntry,
    add_users,
    load_platform,
    remove_user,
    set_user_password,
)
from kfops.errors import InputError
from kfops.identity import (
    DEFAULT_COST,
    MIN_LENGTH,
    DexUsers,
    check_password,
    file_users,
    hash_password,
    read_users_csv,
)

from ._editing import Day2, Listing
from ._options import Output, command_group, grouped
from ._output import out, print_json

app = command_group("Dex static users: in the platform file, or --live on the cluster.")

StdinOption = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin.")]
CostOption = Annotated[int, typer.Option(
    "--cost", help="bcrypt cost (10 to 31).")]


def _password(from_stdin: bool, email: str) -> str:
    """The new password of `email`, checked against the password rules."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InputError("no password on stdin")
    else:
        # getpass, not click's prompt: Ctrl-C must stay an interrupt (exit 130), not "Aborted".
        password = getpass.getpass(f"Password for {email} (at least {MIN_LENGTH} characters): ")
        if getpass.getpass("Repeat it: ") != password:
            raise InputError("the two passwords differ; nothing was changed")
    check_password(password, email)
    return password


@app.command("add")
@grouped
def add_command(
    email: Annotated[str, typer.Argument(help="The user's e-mail (their login).")],
    username: Annotated[str | None, typer.Option("--username", help="Shown by Dex.")] = None,
    password_stdin: StdinOption = False,
    cost: CostOption = DEFAULT_COST,
    *, mode: Day2,
) -> None:
    """Add a user (asks for the password twice, or reads it from stdin)."""
    user = UserEntry(email, username, hash_password(_password(password_stdin, email), cost))
    mode.change(lambda cluster: DexUsers(cluster).add([user]),
                f"added {email} to Dex; Dex restarted", add_users([user]), f"added {email}")


@app.command("passwd")
@grouped
def passwd_command(
    email: Annotated[str, typer.Argument(help="The user's e-mail.")],
    password_stdin: StdinOption = False,
    cost: CostOption = DEFAULT_COST,
    *, mode: Day2,
) -> None:
    """Set a user's password."""
    password_hash = hash_password(_password(password_stdin, email), cost)
    mode.change(lambda cluster: DexUsers(cluster).set_password(email, password_hash),
                f"changed the password of {email}; Dex restarted",
                set_user_password(email, password_hash), f"changed the password of {email}")


@app.command("remove")
@grouped
def remove_command(
    email: Annotated[str, typer.Argument(help="The user's e-mail.")],
    *, mode: Day2,
) -> None:
    """Remove a user (their profiles and data stay)."""
    mode.change(
        lambda cluster: DexUsers(cluster).remove(email),
        f"removed {email} from Dex; Dex restarted", remove_user(email), f"removed {email}")


@app.command("import")
@grouped
def import_command(
    csv_file: Annotated[Path, typer.Argument(
        help="CSV: email, username, password or bcrypt hash (a header row is optional).")],
    cost: CostOption = DEFAULT_COST,
    *, mode: Day2,
) -> None:
    """Add (or update) many users at once; passwords are hashed on all cores."""
    users = read_users_csv(csv_file, cost)
    mode.change(lambda cluster: DexUsers(cluster).add(users, replace=True),
                f"imported {len(users)} users into Dex; Dex restarted once",
                add_users(users, replace=True), f"imported {len(users)} users")


@app.command("list")
@grouped
def list_command(source: Listing) -> None:
    """The users, with where each comes from (never their hashes)."""
    if source.live:
        with source.connection.connect() as cluster:
            users = DexUsers(cluster, WaitSettings()).users()
    else:
        users = file_users(load_platform(source.file).platform)
    if source.output is Output.json:
        print_json([{"email": u.email, "username": u.username, "source": u.source}
                    for u in users])
        return
    for user in users:
        out.print(f"  {user.email:<36} {user.username:<20} {user.source}", markup=False)
    out.print(f"{len(users)} users")
