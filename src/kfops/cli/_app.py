"""The `kfops` command line: parse, call the library, print."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from kfops.config import DEFAULT_PLATFORM_FILE, TARGETS, LoadedPlatform, json_schema, load_platform
from kfops.gitops import TOOLS, GitOpsOptions, path_in_repository
from kfops.operations import (
    bundle_folder,
    check_bundle,
    render_platform,
    validate_platform,
    with_gitops_files,
    write_rendered,
)
from kfops.render import RenderOptions, RenderResult, load_extra_crds
from kfops.secrets import state_dir_for
from kfops.targets import write_starter

from . import _aks_commands as aks_commands
from . import _backup_commands as backup_commands
from . import _bundle_commands as bundle_commands
from . import _doctor_commands as doctor_commands
from . import _gpu_commands as gpu_commands
from . import _images_commands as images_commands
from . import _profile_commands as profile_commands
from . import _user_commands as user_commands
from ._cluster_commands import register
from ._options import (
    AllowPathsOption,
    CrdsOption,
    FileOption,
    OfflineOption,
    Output,
    OutputOption,
    command_group,
)
from ._output import out, print_json, warn
from ._progress import RenderBar

app = command_group(
    "Install and operate Kubeflow from one platform.yaml.\n\n"
    "Exit codes: 0 ok; 1 the operation failed; 2 bad input (config, flags or objects "
    "that fail validation; nothing was touched); 3 plan found changes; 130 interrupted.",
    name="kfops",
)


@app.command()
def init(
    target: Annotated[str, typer.Option(
        "--target", "-t", help=f"One of: {', '.join(TARGETS)}.")],
    file: FileOption = DEFAULT_PLATFORM_FILE,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a commented starter platform.yaml for a target."""
    written = write_starter(target, file, force)
    for path in written:
        out.print(f"wrote {path}")
    out.print(f"next: fill in any `<fill in: ...>` values, then `kfops render -f {file}`")


@app.command(name="render")
def render_command(
    file: FileOption = DEFAULT_PLATFORM_FILE,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", file_okay=False,
        help="Bundle folder (default: bundle/ next to the platform file).")] = None,
    offline: OfflineOption = False,
    crds: CrdsOption = None,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
    gitops: Annotated[str | None, typer.Option(
        "--gitops", help=f"Also write the objects that make a GitOps tool apply the bundle "
        f"in kfops's order: {' or '.join(TOOLS)} (docs/gitops.md).")] = None,
    repo_url: Annotated[str, typer.Option(
        "--repo-url", help="--gitops argocd: the git repository the bundle is committed to.")
    ] = "",
    revision: Annotated[str, typer.Option(
        "--revision", help="--gitops argocd: the branch, tag or commit Argo CD follows.")
    ] = "HEAD",
    repo_path: Annotated[str | None, typer.Option(
        "--repo-path", help="--gitops: the bundle folder inside the repository (default: "
        "the --out folder relative to its git worktree).")] = None,
    destination: Annotated[str, typer.Option(
        "--destination", help="--gitops argocd: the API server URL of the cluster to install "
        "on.")] = "https://kubernetes.default.svc",
    flux_source: Annotated[str, typer.Option(
        "--flux-source", help="--gitops flux: NAMESPACE/NAME of the GitRepository holding "
        "the bundle.")] = "flux-system/flux-system",
) -> None:
    """Render and validate the platform; write the bundle."""
    loaded = load_platform(file, allow_outside=allow_paths_outside)
    target = bundle_folder(loaded, out_dir)
    tool = None if gitops is None else GitOpsOptions(
        gitops, path=repo_path or path_in_repository(target), repo_url=repo_url,
        revision=revision, destination=destination, source=flux_source)
    result = _render(loaded, offline, crds, quiet=output is Output.json)
    if tool is not None:
        result = with_gitops_files(result, tool)
    write_rendered(result, target, state_dir_for(loaded.path))
    _print_render(result, target, output, tool)


@app.command()
def validate(
    file: FileOption = DEFAULT_PLATFORM_FILE,
    bundle: Annotated[Path | None, typer.Option(
        "--bundle", help="Validate a written bundle instead of rendering.")] = None,
    offline: OfflineOption = False,
    crds: CrdsOption = None,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
) -> None:
    """Run schema checks only (exit 2 when an object fails); writes nothing but the cache."""
    extra = load_extra_crds(crds or [])
    if bundle is not None:
        report = check_bundle(bundle, extra)
        checked, warnings = report.checked, report.not_evaluated
    else:
        result = _render(load_platform(file, allow_outside=allow_paths_outside), offline, crds,
                         quiet=output is Output.json, keep=False)
        checked, warnings = result.report.checked, result.bundle.warnings
    if output is Output.json:
        print_json({"valid": True, "objects": checked, "warnings": warnings})
        return
    warn(warnings)
    out.print(f"[green]valid:[/] {checked} objects")


@app.command()
def schema() -> None:
    """Print the JSON Schema of platform.yaml (for editors)."""
    print_json(json_schema())


def _render(
    loaded: LoadedPlatform, offline: bool, crds: list[Path] | None, quiet: bool,
    keep: bool = True,
) -> RenderResult:
    """`render_platform` (keep: the generated values are saved) or `validate_platform`."""
    run = render_platform if keep else validate_platform
    options = RenderOptions(offline=offline, extra_crds=load_extra_crds(crds or []))
    if quiet:
        return run(loaded, options)
    with RenderBar() as bar:
        return run(loaded, dataclasses.replace(options, progress=bar))


def _print_render(result: RenderResult, target: Path, output: Output,
                  gitops: GitOpsOptions | None = None) -> None:
    bundle = result.bundle
    gitops_files = sorted(p for p in bundle.extra_files if p.startswith("gitops/")
                          or p.endswith("/Kustomization"))
    components = bundle.lock["components"]
    counts: dict[str, int] = {}
    for item in bundle.objects:
        counts[item.component] = counts.get(item.component, 0) + 1
    if output is Output.json:
        print_json({
            "bundle": str(target),
            "objects": len(bundle.objects),
            "images": len(bundle.images),
            "components": [{**c, "objects": counts.get(c["name"], 0)} for c in components],
            "warnings": bundle.warnings,
            "timings": {k: round(v, 3) for k, v in result.timings.items()},
            "builds": {"built": result.built, "cached": result.cached},
            "patches": bundle.lock.get("patches", []),
            **({"gitops": {"tool": gitops.tool, "repoPath": gitops.folder,
                           "files": gitops_files}} if gitops else {}),
        })
        return
    warn(bundle.warnings)
    for component in components:
        out.print(f"  {component['name']:<24} {counts.get(component['name'], 0):>4} objects  "
                  f"({component['reason']})")
    for patch in bundle.lock.get("patches", []):
        out.print(f"  {patch['patch']} ({patch['target']}) changed: "
                  f"{', '.join(patch['changed']) or 'nothing'}", markup=False)
    out.print(f"[green]rendered[/] {len(bundle.objects)} objects, {len(bundle.images)} images "
              f"-> {target}")
    out.print(f"  {result.built} kustomize builds, {result.cached} from cache; {_times(result)}")
    for path in sorted(bundle.extra_files):
        if path.endswith(".sh") and path not in gitops_files:
            out.print(f"  before kfops apply: bash {target / path}  (kfops never runs Helm)",
                      markup=False)
    if gitops is not None:
        _print_gitops(gitops, target, gitops_files)


def _print_gitops(gitops: GitOpsOptions, target: Path, files: list[str]) -> None:
    out.print(f"  --gitops {gitops.tool}: {len(files)} files, the bundle at {gitops.folder} of "
              "the repository", markup=False)
    if "gitops/encrypt-secrets.sh" in files:
        out.print(f"  before git add: bash {target / 'gitops/encrypt-secrets.sh'}  "
                  "(secrets/ stays out of git)", markup=False)
    folder = target / "gitops" / gitops.tool
    if gitops.tool == "argocd":
        out.print(f"  once: kubectl -n {gitops.tool_namespace} patch configmap argocd-cm "
                  f"--type merge --patch-file {folder / 'argocd-cm-patch.yaml'}", markup=False)
    out.print(f"  after the first push: kubectl apply -f {folder / 'root.yaml'}  "
              "(docs/gitops.md)", markup=False)


def _times(result: RenderResult) -> str:
    """Where the time went; parsing runs while the builds do, so it is shown inside them."""
    times = dict(result.timings)
    parse = times.pop("parse", 0.0)
    return ", ".join(
        f"{step} {seconds:.1f}s" + (f" (parse {parse:.1f}s of it)" if step == "build" else "")
        for step, seconds in times.items()
    )


register(app)
doctor_commands.register(app)
backup_commands.register(app)
app.add_typer(user_commands.app, name="user")
app.add_typer(profile_commands.app, name="profile")
app.add_typer(gpu_commands.gpu_app, name="gpu")
app.add_typer(aks_commands.aks_app, name="aks")
app.add_typer(images_commands.app, name="images")
app.add_typer(bundle_commands.app, name="bundle")
