"""`kfops profile create|delete|list` and `kfops profile contributor add|remove`.

By default a command edits `spec.profiles` in the platform file (and with
`--apply` applies it); `--live` changes the running cluster instead.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kfops.config import (
    Taint,
    add_profile,
    load_platform,
    new_profile,
    remove_contributor,
    remove_profile,
    set_contributor,
)
from kfops.errors import InputError
from kfops.tenancy import LiveProfiles, ProfileContents, file_profiles

from ._editing import Day2, Listing
from ._options import Output, command_group, grouped
from ._output import out, print_json

app = command_group("Profiles: a namespace per team or user, with contributors, quota and "
                       "PodDefaults.")
contributors = command_group("Who else may work in a profile.")
app.add_typer(contributors, name="contributor")

NameArgument = Annotated[str, typer.Argument(help="The profile (and its namespace's) name.")]
RoleOption = Annotated[str, typer.Option("--role", help="edit or view.")]
PurgeOption = Annotated[bool, typer.Option(
    "--purge-data", help="Delete it even though its namespace holds PersistentVolumeClaims.")]


def _quota(text: str) -> dict[str, str]:
    """`--quota cpu=16,memory=64Gi` as a mapping."""
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise InputError("--quota: expected NAME=QUANTITY,..., e.g. cpu=16,memory=64Gi,"
                         "nvidia.com/gpu=2")
    return {k.strip(): v.strip() for k, v in pairs}


@app.command("create")
@grouped
def create_command(
    name: NameArgument,
    owner: Annotated[str, typer.Option("--owner", help="The owner's e-mail.")],
    quota: Annotated[str, typer.Option(
        "--quota", help="e.g. cpu=16,memory=64Gi,nvidia.com/gpu=2")] = "",
    pod_defaults: Annotated[str, typer.Option(
        "--pod-defaults", help="pipelineAccess and/or gpuToleration, comma-separated.")] = "",
    *, mode: Day2,
) -> None:
    """Create a profile (a namespace owned by --owner)."""
    profile = new_profile(name, owner, _quota(quota),
                          [p.strip() for p in pod_defaults.split(",") if p.strip()])
    mode.change(lambda cluster: LiveProfiles(cluster).create(profile, Taint()),
                f"created profile {name} (namespace {name})",
                add_profile(name, owner, {k: str(v) for k, v in profile.quota.items()},
                            profile.pod_defaults), f"added profile {name}")


@app.command("delete")
@grouped
def delete_command(
    name: NameArgument,
    purge_data: PurgeOption = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    *, mode: Day2,
) -> None:
    """Delete a profile and its namespace, unless the namespace holds PVCs (asks first)."""
    if mode.apply and name not in {p.name for p in load_platform(
            mode.file, check_references=False).platform.spec.profiles}:
        # Checked first: with --purge-data the Profile goes before the file is edited.
        raise InputError(f"profile {name} is not in spec.profiles of {mode.file}")
    if mode.apply or mode.live:
        with mode.connection.connect() as cluster:
            profiles = LiveProfiles(cluster)
            contents = profiles.deletion(name, purge_data)
            if not yes:
                typer.confirm(_deletion_question(name, contents), abort=True)
            if mode.apply and purge_data:
                profiles.purge(name)
    elif not yes:
        typer.confirm(f"Remove profile {name} from {mode.file}? The next `kfops apply` deletes "
                      f"the Profile and its namespace {name} with everything in it, unless the "
                      "namespace holds PersistentVolumeClaims.", abort=True)
    mode.change(lambda cluster: LiveProfiles(cluster).delete(name, purge_data),
                f"deleted profile {name}", remove_profile(name), f"removed profile {name}")
    if not (mode.apply or mode.live):
        out.print("the next `kfops apply` deletes it, unless its namespace holds "
                  "PersistentVolumeClaims")


def _deletion_question(name: str, contents: ProfileContents) -> str:
    held = [f"{contents.pods} pod(s)"]
    if contents.notebooks:
        held.append(f"notebooks {', '.join(contents.notebooks)}")
    if contents.claims:
        held.append(f"PersistentVolumeClaims {contents.claims} (their data is lost)")
    return (f"Delete profile {name}: the Profile and its namespace {name} with everything in "
            f"it ({'; '.join(held)})?")


@contributors.command("add")
@grouped
def contributor_add_command(
    name: NameArgument,
    email: Annotated[str, typer.Argument(help="The contributor's e-mail.")],
    role: RoleOption = "edit",
    *, mode: Day2,
) -> None:
    """Let someone work in a profile (edit) or look at it (view)."""
    if role not in ("edit", "view"):
        raise InputError(f"--role {role}: use edit or view")
    mode.change(lambda cluster: LiveProfiles(cluster).set_contributor(name, email, role),
                f"{email} may {role} profile {name}", set_contributor(name, email, role),
                f"{email} may {role} profile {name}")


@contributors.command("remove")
@grouped
def contributor_remove_command(
    name: NameArgument,
    email: Annotated[str, typer.Argument(help="The contributor's e-mail.")],
    mode: Day2,
) -> None:
    """Take away someone's access to a profile."""
    mode.change(
        lambda cluster: LiveProfiles(cluster).remove_contributor(name, email),
        f"{email} no longer has access to profile {name}", remove_contributor(name, email),
        f"removed {email} from profile {name}")


@app.command("list")
@grouped
def list_command(source: Listing) -> None:
    """The profiles, their owners and contributors, and where each comes from."""
    if source.live:
        with source.connection.connect() as cluster:
            profiles = LiveProfiles(cluster).profiles()
    else:
        profiles = file_profiles(load_platform(source.file).platform)
    if source.output is Output.json:
        print_json([{"name": p.name, "owner": p.owner, "source": p.source,
                     "contributors": p.contributors, "quota": p.quota} for p in profiles])
        return
    for profile in profiles:
        people = ", ".join(f"{e} ({r})" for e, r in sorted(profile.contributors.items()))
        out.print(f"  {profile.name:<24} {profile.owner:<32} {profile.source:<14} {people}",
                  markup=False)
    out.print(f"{len(profiles)} profiles")
