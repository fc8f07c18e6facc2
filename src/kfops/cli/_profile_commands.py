"""`kfops profile create|delete|list` and `kfops profile contributor add|remove`.

By default a command edits `spec.profiles` in the platform file (and with
`--apply` applies it); `--live` changes the running cluster instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError as PydanticValidationError

from kfops.config import (
    Profile,
    Taint,
    add_profile,
    load_platform,
    remove_contributor,
    remove_profile,
    set_contributor,
)
from kfops.errors import DataProtected, InputError
from kfops.tenancy import LiveProfiles, ProfileContents, ProfileInfo

from ._cluster_commands import Connection
from ._editing import ApplyFlag, LiveOption, day2
from ._options import (
    ContextOption,
    FileOption,
    KubeconfigOption,
    NoWaitOption,
    OfflineOption,
    Output,
    OutputOption,
    command_group,
)
from ._output import out, print_json

app = command_group("Profiles: a namespace per team or user, with contributors, quota and "
                       "PodDefaults.")
contributors = command_group("Who else may work in a profile.")
app.add_typer(contributors, name="contributor")

NameArgument = Annotated[str, typer.Argument(help="The profile (and its namespace's) name.")]
RoleOption = Annotated[str, typer.Option("--role", help="edit or view.")]
PurgeOption = Annotated[bool, typer.Option(
    "--purge-data", help="Delete it even though its namespace holds PersistentVolumeClaims.")]


def _profile(name: str, owner: str, quota: str, pod_defaults: str) -> Profile:
    """The profile the flags describe, checked as the platform file would be."""
    values: dict[str, object] = {"name": name, "owner": owner}
    if quota:
        pairs = [item.split("=", 1) for item in quota.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise InputError("--quota: expected NAME=QUANTITY,..., e.g. cpu=16,memory=64Gi,"
                             "nvidia.com/gpu=2")
        values["quota"] = {k.strip(): v.strip() for k, v in pairs}
    if pod_defaults:
        values["podDefaults"] = [p.strip() for p in pod_defaults.split(",") if p.strip()]
    try:
        return Profile.model_validate(values)
    except PydanticValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise InputError(f"{where}: {problem['msg']}") from None  # pydantic's adds nothing


@app.command("create")
def create_command(
    name: NameArgument,
    owner: Annotated[str, typer.Option("--owner", help="The owner's e-mail.")],
    quota: Annotated[str, typer.Option(
        "--quota", help="e.g. cpu=16,memory=64Gi,nvidia.com/gpu=2")] = "",
    pod_defaults: Annotated[str, typer.Option(
        "--pod-defaults", help="pipelineAccess and/or gpuToleration, comma-separated.")] = "",
    file: FileOption = Path("platform.yaml"),
    apply: ApplyFlag = False,
    live: LiveOption = False,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    offline: OfflineOption = False,
    no_wait: NoWaitOption = False,
) -> None:
    """Create a profile (a namespace owned by --owner)."""
    mode = day2(file, apply, live, kubeconfig, context, offline, no_wait)
    profile = _profile(name, owner, quota, pod_defaults)
    mode.change(lambda cluster: LiveProfiles(cluster).create(profile, Taint()),
                f"created profile {name} (namespace {name})",
                add_profile(name, owner, {k: str(v) for k, v in profile.quota.items()},
                            profile.pod_defaults), f"added profile {name}")


@app.command("delete")
def delete_command(
    name: NameArgument,
    purge_data: PurgeOption = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    file: FileOption = Path("platform.yaml"),
    apply: ApplyFlag = False,
    live: LiveOption = False,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    offline: OfflineOption = False,
    no_wait: NoWaitOption = False,
) -> None:
    """Delete a profile and its namespace, unless the namespace holds PVCs (asks first)."""
    mode = day2(file, apply, live, kubeconfig, context, offline, no_wait)
    if apply and name not in {p.name for p in load_platform(
            file, check_references=False).platform.spec.profiles}:
        # Checked first: with --purge-data the Profile goes before the file is edited.
        raise InputError(f"profile {name} is not in spec.profiles of {file}")
    if apply or live:
        with mode.connection.connect() as cluster:
            contents = LiveProfiles(cluster).contents(name)
            if contents.claims and not purge_data:
                raise DataProtected(f"profile {name}: its namespace holds PersistentVolumeClaims "
                                    f"({contents.claims}); nothing was changed (--purge-data "
                                    "deletes them with the profile)")
            if not yes:
                typer.confirm(_deletion_question(name, contents), abort=True)
            if apply and purge_data:
                cluster.delete("kubeflow.org/v1", "Profile", name)
    elif not yes:
        typer.confirm(f"Remove profile {name} from {file}? The next `kfops apply` deletes the "
                      f"Profile and its namespace {name} with everything in it, unless the "
                      "namespace holds PersistentVolumeClaims.", abort=True)
    mode.change(lambda cluster: LiveProfiles(cluster).delete(name, purge_data),
                f"deleted profile {name}", remove_profile(name), f"removed profile {name}")
    if not (apply or live):
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
def contributor_add_command(
    name: NameArgument,
    email: Annotated[str, typer.Argument(help="The contributor's e-mail.")],
    role: RoleOption = "edit",
    file: FileOption = Path("platform.yaml"),
    apply: ApplyFlag = False,
    live: LiveOption = False,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    offline: OfflineOption = False,
    no_wait: NoWaitOption = False,
) -> None:
    """Let someone work in a profile (edit) or look at it (view)."""
    mode = day2(file, apply, live, kubeconfig, context, offline, no_wait)
    if role not in ("edit", "view"):
        raise InputError(f"--role {role}: use edit or view")
    mode.change(lambda cluster: LiveProfiles(cluster).set_contributor(name, email, role),
                f"{email} may {role} profile {name}", set_contributor(name, email, role),
                f"{email} may {role} profile {name}")


@contributors.command("remove")
def contributor_remove_command(
    name: NameArgument,
    email: Annotated[str, typer.Argument(help="The contributor's e-mail.")],
    file: FileOption = Path("platform.yaml"),
    apply: ApplyFlag = False,
    live: LiveOption = False,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    offline: OfflineOption = False,
    no_wait: NoWaitOption = False,
) -> None:
    """Take away someone's access to a profile."""
    day2(file, apply, live, kubeconfig, context, offline, no_wait).change(
        lambda cluster: LiveProfiles(cluster).remove_contributor(name, email),
        f"{email} no longer has access to profile {name}", remove_contributor(name, email),
        f"removed {email} from profile {name}")


@app.command("list")
def list_command(
    file: FileOption = Path("platform.yaml"),
    live: LiveOption = False,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
) -> None:
    """The profiles, their owners and contributors, and where each comes from."""
    if live:
        with Connection(kubeconfig, context).connect() as cluster:
            profiles = LiveProfiles(cluster).profiles()
    else:
        profiles = [ProfileInfo(p.name, p.owner, "platform-file",
                                {c.email: c.role for c in p.contributors},
                                {k: str(v) for k, v in p.quota.items()})
                    for p in load_platform(file).platform.spec.profiles]
    if output is Output.json:
        print_json([{"name": p.name, "owner": p.owner, "source": p.source,
                     "contributors": p.contributors, "quota": p.quota} for p in profiles])
        return
    for profile in profiles:
        people = ", ".join(f"{e} ({r})" for e, r in sorted(profile.contributors.items()))
        out.print(f"  {profile.name:<24} {profile.owner:<32} {profile.source:<14} {people}",
                  markup=False)
    out.print(f"{len(profiles)} profiles")
