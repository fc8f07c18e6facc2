"""`kfops render --gitops argocd|flux`: Applications and Kustomizations that apply the real
bundles of both releases in kfops's order, checked against the tools' documented APIs, and
what Argo CD would do simulated on the emulator."""

from __future__ import annotations

import base64
import itertools
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from lupa import LuaRuntime

from kfops.cluster import (
    INJECT_ANNOTATIONS,
    BundleFile,
    Cluster,
    Kinds,
    apply_steps,
    plan_bundle,
    wait_for,
    wait_for_workloads,
)
from kfops.cluster._protect import data_reason
from kfops.errors import InputError
from kfops.gitops import (
    GitOpsOptions,
    Target,
    gitops_files,
    path_in_repository,
    stages_of,
    with_gitops,
)
from kfops.objects import STAGES, WORKLOAD_KINDS, ApplySet, describe, identity_of, is_profile
from kfops.render import Bundle, read_bundle_objects, write_bundle
from kfops.render._kustomize import find_kustomize
from tests.conftest import FAST_WAITS, RELEASES
from tests.helpers.cli import kfops
from tests.helpers.presets import render_preset

REPO = "https://git.example.com/platform.git"
Identity = tuple[str, str, str, str]

#: Argo CD's Application as documented: every field kfops writes, nothing else.
#: https://argo-cd.readthedocs.io/en/stable/user-guide/application-specification/
#: https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#applications
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_TARGET = {"type": "object", "additionalProperties": False, "properties": {
    key: {"type": "string", "minLength": 1} for key in (
        "group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector")}}
_PATCHES = {"type": "array", "minItems": 1, "items": {
    "type": "object", "additionalProperties": False, "required": ["patch", "target"],
    "properties": {"patch": {"type": "string"}, "target": _TARGET}}}
APPLICATION = {
    "type": "object", "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "argoproj.io/v1alpha1"}, "kind": {"const": "Application"},
        "metadata": {"type": "object", "additionalProperties": False,
                     "required": ["name", "namespace"], "properties": {
                         "name": {"type": "string"}, "namespace": {"type": "string"},
                         "annotations": _STRINGS}},
        "spec": {"type": "object", "additionalProperties": False,
                 "required": ["project", "source", "destination"], "properties": {
            "project": {"type": "string"},
            "source": {"type": "object", "additionalProperties": False,
                       "required": ["repoURL", "targetRevision", "path"], "properties": {
                "repoURL": {"type": "string"}, "targetRevision": {"type": "string"},
                "path": {"type": "string"},
                # https://argo-cd.readthedocs.io/en/stable/user-guide/kustomize/#patches
                "kustomize": {"type": "object", "additionalProperties": False,
                              "properties": {"patches": _PATCHES}}}},
            "destination": {"type": "object", "additionalProperties": False,
                            "required": ["server"], "properties": {"server": {"type": "string"}}},
            "syncPolicy": {"type": "object", "additionalProperties": False, "properties": {
                # https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/
                "automated": {"type": "object", "additionalProperties": False, "properties": {
                    "prune": {"type": "boolean"}, "selfHeal": {"type": "boolean"}}},
                # https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/
                "syncOptions": {"type": "array", "items": {"enum": [
                    "ServerSideApply=true", "SkipDryRunOnMissingResource=true",
                    "RespectIgnoreDifferences=true"]}},
                "retry": {"type": "object", "additionalProperties": False, "properties": {
                    "limit": {"type": "integer"},
                    "backoff": {"type": "object", "additionalProperties": False, "properties": {
                        "duration": {"type": "string"}, "factor": {"type": "integer"},
                        "maxDuration": {"type": "string"}}}}}}},
            # https://argo-cd.readthedocs.io/en/stable/user-guide/diffing/
            "ignoreDifferences": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["kind", "jqPathExpressions"], "properties": {
                    "group": {"type": "string"}, "kind": {"type": "string"},
                    "jqPathExpressions": {"type": "array", "items": {"type": "string"}}}}}}}}}

#: Flux's Kustomization v1 as documented (durations as its CRD's pattern).
#: https://fluxcd.io/flux/components/kustomize/kustomizations/
_DURATION = {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"}
KUSTOMIZATION = {
    "type": "object", "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kustomize.toolkit.fluxcd.io/v1"},
        "kind": {"const": "Kustomization"},
        "metadata": {"type": "object", "additionalProperties": False,
                     "required": ["name", "namespace"],
                     "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}}},
        "spec": {"type": "object", "additionalProperties": False,
                 "required": ["interval", "prune", "sourceRef"], "properties": {
            "interval": _DURATION, "retryInterval": _DURATION, "timeout": _DURATION,
            "path": {"type": "string"}, "prune": {"type": "boolean"}, "wait": {"type": "boolean"},
            "sourceRef": {"type": "object", "additionalProperties": False,
                          "required": ["kind", "name"], "properties": {
                "kind": {"enum": ["GitRepository", "OCIRepository", "Bucket"]},
                "name": {"type": "string"}, "namespace": {"type": "string"}}},
            "dependsOn": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["name"],
                "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}}}},
            "patches": _PATCHES,
            "decryption": {"type": "object", "additionalProperties": False,
                           "required": ["provider"], "properties": {
                "provider": {"enum": ["sops"]},
                "secretRef": {"type": "object", "additionalProperties": False,
                              "required": ["name"], "properties": {"name": {"type": "string"}}}}},
        }}}}


#: One render per release, of a starter with the most stages and kinds: on-premises (MetalLB,
#: the NFS provisioner: a 20-prereqs stage) and AKS (Karpenter's kinds, whose CRDs a Helm
#: chart installs: only in the bundle's schemas/).
STARTERS = {"v1.10.2": "aks", "26.03": "onprem"}
#: What the starters' `{env: ...}` references read.
CONNECTOR_SECRETS = {"GITHUB_CLIENT_SECRET": "github-client-secret-value",
                     "ENTRA_CLIENT_SECRET": "entra-client-secret-value"}


@dataclass
class Rendered:
    release: str
    bundle: Bundle
    folder: Path
    """Where the platform file is (the render's state directory beside it)."""


@pytest.fixture(scope="module", params=RELEASES)
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             shared_cache: Path) -> Rendered:
    """A starter of each release, rendered once for the module."""
    folder = tmp_path_factory.mktemp(f"gitops-{request.param}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_CACHE_DIR", str(shared_cache))
        for name, value in CONNECTOR_SECRETS.items():
            patch.setenv(name, value)
        result = render_preset(folder, STARTERS[request.param], request.param)
    return Rendered(request.param, result.bundle, folder)


def argocd(bundle: Bundle, **options: str) -> dict[str, str]:
    return gitops_files(bundle, GitOpsOptions("argocd", repo_url=REPO, **options))


def flux(bundle: Bundle, **options: str) -> dict[str, str]:
    return gitops_files(bundle, GitOpsOptions("flux", **options))


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d]


def by_prefix(files: dict[str, str], prefix: str) -> list[dict[str, Any]]:
    return [d for path, text in files.items() if path.startswith(prefix)
            for d in documents(text)]


def wave(obj: dict[str, Any]) -> int:
    return int((obj["metadata"].get("annotations") or {}).get("argocd.argoproj.io/sync-wave", 0))


def stage_objects(bundle: Bundle, stage: str) -> list[dict[str, Any]]:
    return [o.obj for path, items in bundle.files.items() if path.startswith(f"{stage}/")
            for o in items if o.kind != "Secret"]


def matches(target: Target, obj: dict[str, Any]) -> bool:
    """Whether kustomize's selector picks `obj`: anchored regular expressions for name and
    namespace, an annotation selector of one key that must exist."""
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    metadata = obj["metadata"]
    wanted = {"group": (target.group, group), "version": (target.version, version),
              "kind": (target.kind, obj["kind"])}
    if any(want and want != have for want, have in wanted.values()):
        return False
    for pattern, value in ((target.namespace, metadata.get("namespace") or ""),
                           (target.name, metadata["name"])):
        if pattern and not re.fullmatch(pattern, value):
            return False
    return not target.annotation_selector or \
        target.annotation_selector in (metadata.get("annotations") or {})


def picked(targets: tuple[Target, ...], objects: list[dict[str, Any]]) -> set[Identity]:
    return {identity_of(o) for o in objects if any(matches(t, o) for t in targets)}


def secret_values(bundle: Bundle) -> set[str]:
    """Every value of every Secret of the bundle (decoded), but those too short to be
    secret by themselves (`true`, a port)."""
    values = set()
    for item in bundle.objects:
        if item.kind != "Secret":
            continue
        for value in (item.obj.get("data") or {}).values():
            values.add(base64.b64decode(value).decode(errors="replace"))
        values.update(str(v) for v in (item.obj.get("stringData") or {}).values())
    return {v for v in values if len(v) >= 8}


def test_argocd_applications_follow_the_documented_api(rendered: Rendered) -> None:
    files = argocd(rendered.bundle)
    applications = by_prefix(files, "gitops/argocd/apps/") + by_prefix(
        files, "gitops/argocd/root.yaml")
    assert len(applications) == len(stages_of(rendered.bundle)) + 2  # the secrets', the root
    for application in applications:
        jsonschema.validate(application, APPLICATION)
        assert application["spec"]["destination"] == {"server": "https://kubernetes.default.svc"}
        assert application["spec"]["source"]["repoURL"] == REPO
        assert application["spec"]["source"]["targetRevision"] == "HEAD"
        assert application["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    [root] = documents(files["gitops/argocd/root.yaml"])
    assert root["spec"]["source"]["path"] == "bundle/gitops/argocd/apps"
    assert "annotations" not in root["metadata"]


def test_argocd_waves_follow_kfops_stages(rendered: Rendered) -> None:
    files = argocd(rendered.bundle, path="clusters/lab/bundle")
    apps = sorted(by_prefix(files, "gitops/argocd/apps/"), key=wave)
    paths = [a["spec"]["source"]["path"].removeprefix("clusters/lab/bundle/") for a in apps]
    present = [s for s in STAGES if stage_objects(rendered.bundle, s)]
    assert paths == [*present[:2], "gitops/argocd/secrets", *present[2:]]
    assert [wave(a) for a in apps] == sorted({wave(a) for a in apps})  # one wave each
    options = {p: a["spec"]["syncPolicy"]["syncOptions"] for p, a in zip(paths, apps, strict=True)}
    assert {"ServerSideApply=true", "SkipDryRunOnMissingResource=true"} <= set(options["00-crds"])
    assert all("ServerSideApply=true" in o for o in options.values())
    for stage in present:
        listed = yaml.safe_load(files[f"{stage}/Kustomization"])["resources"]
        assert listed == [p.split("/", 1)[1] for p in rendered.bundle.files
                          if p.startswith(f"{stage}/") and any(
                              o.kind != "Secret" for o in rendered.bundle.files[p])]


def health_checks(bundle: Bundle) -> dict[str, str]:
    """The Lua health checks of argocd-cm-patch.yaml, by `<group>_<kind>`."""
    [patch] = documents(argocd(bundle)["gitops/argocd/argocd-cm-patch.yaml"])
    assert set(patch) == {"data"}
    prefix = "resource.customizations.health."
    assert all(key.startswith(prefix) for key in patch["data"])
    return {key.removeprefix(prefix): script for key, script in patch["data"].items()}


def health(script: str, obj: dict[str, Any]) -> str:
    """What Argo CD makes of `obj` with a Lua health check: it runs the script with the
    object as the global `obj` and reads `status` of the table it returns
    (https://argo-cd.readthedocs.io/en/stable/operator-manual/health/#custom-health-checks)."""
    lua = LuaRuntime()
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(script)
    return str(result["status"])


def test_argocd_health_checks_in_argocd_cm(rendered: Rendered) -> None:
    checks = health_checks(rendered.bundle)
    assert set(checks) == {
        "argoproj.io_Application", "apiextensions.k8s.io_CustomResourceDefinition",
        "admissionregistration.k8s.io_MutatingWebhookConfiguration",
        "admissionregistration.k8s.io_ValidatingWebhookConfiguration"}
    application = checks["argoproj.io_Application"]
    assert health(application, {"metadata": {"name": "a"}}) == "Progressing"  # never synced
    for status in ("Missing", "Progressing", "Degraded", "Healthy"):
        assert health(application, {"metadata": {"name": "a"},
                                    "status": {"health": {"status": status}}}) == status
    crd = checks["apiextensions.k8s.io_CustomResourceDefinition"]
    conditions = [{"type": "NamesAccepted", "status": "True"},
                  {"type": "Established", "status": "True"}]
    assert health(crd, {"metadata": {"name": "c"}, "status": {"conditions": conditions}}) \
        == "Healthy"
    assert health(crd, {"metadata": {"name": "c"}, "status": {"conditions": [
        {"type": "NamesAccepted", "status": "False", "message": "taken"}]}}) == "Degraded"
    assert checks["admissionregistration.k8s.io_MutatingWebhookConfiguration"] == checks[
        "admissionregistration.k8s.io_ValidatingWebhookConfiguration"]


def test_flux_kustomizations_follow_the_documented_api_in_stage_order(
        rendered: Rendered) -> None:
    files = flux(rendered.bundle, path="clusters/lab/bundle", source="flux-system/platform")
    stages = [documents(files[p])[0] for p in sorted(files) if p.startswith("gitops/flux/stages/")]
    [root] = documents(files["gitops/flux/root.yaml"])
    for kustomization in [root, *stages]:
        jsonschema.validate(kustomization, KUSTOMIZATION)
        assert kustomization["spec"]["sourceRef"] == {
            "kind": "GitRepository", "name": "platform", "namespace": "flux-system"}
        assert kustomization["spec"]["prune"] is True
    present = [s for s in STAGES if stage_objects(rendered.bundle, s)]
    paths = [k["spec"]["path"] for k in stages]
    assert paths == [f"./clusters/lab/bundle/{p}" for p in
                     [*present[:2], "gitops/flux/secrets", *present[2:]]]
    assert "dependsOn" not in stages[0]["spec"]
    for before, after in itertools.pairwise(stages):
        assert after["spec"]["dependsOn"] == [{"name": before["metadata"]["name"]}]
    assert all(k["spec"]["wait"] is True for k in stages)
    assert [k["spec"].get("decryption") for k in stages] == [
        {"provider": "sops", "secretRef": {"name": "sops-age"}} if "secrets" in p else None
        for p in paths]
    assert root["spec"]["path"] == "./clusters/lab/bundle/gitops/flux/stages"


def test_prune_keeps_exactly_what_kfops_keeps(rendered: Rendered) -> None:
    """Prune=false (Argo CD) and prune: disabled (Flux) on every PVC and Profile (and any
    kfops.io/keep object), on nothing else; the stage files are not edited for it."""
    argo = {a["spec"]["source"]["path"].rsplit("/", 1)[-1]: a
            for a in by_prefix(argocd(rendered.bundle), "gitops/argocd/apps/")}
    fluxes = {k["spec"]["path"].rsplit("/", 1)[-1]: k
              for k in by_prefix(flux(rendered.bundle), "gitops/flux/stages/")}
    kept_anywhere = 0
    for stage in stages_of(rendered.bundle):
        objects = stage_objects(rendered.bundle, stage.folder)
        expected = {identity_of(o) for o in objects if data_reason(o) or is_profile(o)}
        kept_anywhere += len(expected)
        assert picked(stage.kept, objects) == expected
        argo_keep = _targets(argo[stage.folder], "argocd.argoproj.io/sync-options",
                             "Prune=false,Delete=false")
        flux_keep = _targets(fluxes[stage.folder], "kustomize.toolkit.fluxcd.io/prune",
                             "disabled")
        assert picked(argo_keep, objects) == picked(flux_keep, objects) == expected
    assert kept_anywhere >= 3  # the pipelines', Katib's databases, the example Profile


def test_webhook_gated_objects_wait_a_wave(rendered: Rendered) -> None:
    """Inside a stage's Application, what kfops sends only once a webhook answers is in a
    later sync wave than everything else (the webhook's Deployment among it)."""
    files = [BundleFile(p, items[0].component, tuple(i.obj for i in items))
             for p, items in rendered.bundle.files.items() if items]
    served = Kinds()  # what discovery serves kfops's apply: Helm's CRDs (schemas/) too
    served.learn_crds_from([d for p, t in rendered.bundle.extra_files.items()
                            if p.startswith("schemas/") for d in documents(t)])
    gated = {identity_of(o) for step in apply_steps(files, served) if step.needs
             for o in step.objects if o["kind"] != "Secret"}
    apps = {a["spec"]["source"]["path"].rsplit("/", 1)[-1]: a
            for a in by_prefix(argocd(rendered.bundle), "gitops/argocd/apps/")}
    found: set[Identity] = set()
    for stage in stages_of(rendered.bundle):
        objects = stage_objects(rendered.bundle, stage.folder)
        later = _targets(apps[stage.folder], "argocd.argoproj.io/sync-wave", "1")
        assert picked(later, objects) == picked(stage.later, objects)
        found |= picked(later, objects)
    assert found == gated
    assert any(k == "Deployment" for _, k, _, _ in gated)  # behind Istio's sidecar injector


def _targets(spec_holder: dict[str, Any], annotation: str, value: str) -> tuple[Target, ...]:
    """The targets of the patches (Argo CD's or Flux's) that set `annotation` to `value`."""
    spec = spec_holder["spec"]
    kustomize = (spec.get("source") or {}).get("kustomize") or {}
    patches = spec.get("patches") or kustomize.get("patches") or []
    found = []
    for patch in patches:
        annotations = yaml.safe_load(patch["patch"])["metadata"]["annotations"]
        if annotations.get(annotation) == value:
            t = patch["target"]
            found.append(Target(t.get("group", ""), t.get("version", ""), t.get("kind", ""),
                                t.get("namespace", ""), t.get("name", ""),
                                t.get("annotationSelector", "")))
    return tuple(found)


def test_same_bundle_gives_the_same_bytes_and_no_secret(rendered: Rendered) -> None:
    values = secret_values(rendered.bundle)
    assert values
    for files in (argocd(rendered.bundle), flux(rendered.bundle)):
        assert files == (argocd(rendered.bundle) if "gitops/argocd/root.yaml" in files
                         else flux(rendered.bundle))
        text = "".join(files.values())
        assert not [v for v in values if v in text]
    reviewable = "".join(t for p, t in with_gitops(rendered.bundle, GitOpsOptions(
        "argocd", repo_url=REPO)).file_texts().items() if not p.startswith("secrets/"))
    assert not [v for v in values if v in reviewable]


def test_bad_options_name_the_flag() -> None:
    with pytest.raises(InputError, match="--gitops: 'jenkins' is not one of argocd, flux"):
        GitOpsOptions("jenkins")
    with pytest.raises(InputError, match="--repo-url"):
        GitOpsOptions("argocd")
    with pytest.raises(InputError, match="--repo-path"):
        GitOpsOptions("flux", path="../elsewhere")
    with pytest.raises(InputError, match="--flux-source"):
        GitOpsOptions("flux", source="no-namespace")


def test_bundle_path_in_the_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert path_in_repository(tmp_path / "clusters" / "lab") == "clusters/lab"
    assert path_in_repository(tmp_path) == "."
    assert GitOpsOptions("flux", path="./clusters//lab/").in_repository("00-crds") == \
        "clusters/lab/00-crds"
    assert GitOpsOptions("flux", path=".").in_repository("00-crds") == "00-crds"


FAKE_KUBESEAL = """#!/usr/bin/env bash
# One Secret in, one SealedSecret out (its name), as kubeseal --format yaml does.
set -euo pipefail
input="$(cat)"
[[ "$(grep -c '^kind: Secret$' <<<"$input")" == 1 ]] || { echo "not one Secret" >&2; exit 3; }
[[ "$*" == "--format yaml --cert pub.pem" ]] || { echo "arguments: $*" >&2; exit 4; }
name="$(grep -m1 '^  name: ' <<<"$input" | cut -d' ' -f4)"
printf 'apiVersion: bitnami.com/v1alpha1\\nkind: SealedSecret\\nmetadata:\\n  name: %s\\n' "$name"
"""
FAKE_SOPS = """#!/usr/bin/env bash
# Counts the Secrets of the file it is given (the last argument) instead of encrypting them.
set -euo pipefail
[[ "$*" == *"--encrypted-regex ^(data|stringData)$ --age age1test "* ]] || exit 4
echo "encrypted: $(grep -c '^kind: Secret$' "${@: -1}")"
"""


#: Per tool: the program the hook runs, a stand-in for it, the arguments passed through.
HOOKS = {"argocd": ("kubeseal", FAKE_KUBESEAL, ["--cert", "pub.pem"]),
         "flux": ("sops", FAKE_SOPS, ["--age", "age1test"])}


@pytest.mark.parametrize("tool", sorted(HOOKS))
def test_encrypt_hook_writes_one_encrypted_file_per_secrets_file(
        rendered: Rendered, tmp_path: Path, tool: str) -> None:
    program, fake, arguments = HOOKS[tool]
    bundle = with_gitops(rendered.bundle, GitOpsOptions(tool, repo_url=REPO))
    write_bundle(bundle, tmp_path / "bundle")
    hook = tmp_path / "bundle" / "gitops" / "encrypt-secrets.sh"
    checked = subprocess.run(["shellcheck", str(hook)], capture_output=True, check=False)
    assert checked.returncode == 0, checked.stdout
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / program).write_text(fake)
    (tools / program).chmod(stat.S_IRWXU)
    done = subprocess.run(["bash", str(hook), *arguments], capture_output=True, text=True,
                          check=False, env={**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    listed = yaml.safe_load((tmp_path / "bundle" / f"gitops/{tool}/secrets/kustomization.yaml")
                            .read_text())["resources"]
    secrets = {p: items for p, items in rendered.bundle.files.items()
               if any(o.kind == "Secret" for o in items)}
    assert listed == [p.replace("/", "-") for p in secrets]
    for path, items in secrets.items():
        written = (tmp_path / "bundle" / f"gitops/{tool}/secrets" / path.replace("/", "-"))
        names = [o.obj["metadata"]["name"] for o in items if o.kind == "Secret"]
        if tool == "argocd":
            assert [d["metadata"]["name"] for d in documents(written.read_text())] == names
        else:
            assert written.read_text() == f"encrypted: {len(names)}\n"


def test_render_gitops_cli(rendered: Rendered, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    if rendered.release != RELEASES[-1]:
        pytest.skip("the command is the same for both releases")
    for name, value in CONNECTOR_SECRETS.items():
        monkeypatch.setenv(name, value)
    platform = str(rendered.folder / "platform.yaml")
    first, second = tmp_path / "one", tmp_path / "two"
    for out in (first, second):
        code, stdout, stderr = kfops("render", "-f", platform, "--offline", "--gitops", "argocd",
                                     "--repo-url", REPO, "--repo-path", "clusters/lab",
                                     "--out", str(out))
        assert code == 0, stderr
    assert "kubectl apply -f" in stdout and "encrypt-secrets.sh" in stdout
    assert _tree(first) == _tree(second)  # byte-identical
    objects, _, lock = read_bundle_objects(first)
    assert "gitops/argocd/root.yaml" in lock["files"] and "30-platform/Kustomization" in lock[
        "files"]
    assert not [o for o in objects if o["kind"] in ("Application", "Kustomization")]
    code, stdout, stderr = kfops("render", "-f", platform, "--offline", "--gitops", "flux",
                                 "--out", str(tmp_path / "flux"), "-o", "json")
    assert code == 0, stderr
    assert '"tool": "flux"' in stdout and "gitops/flux/root.yaml" in stdout
    assert '"repoPath": "flux"' in stdout  # --out outside a git worktree: its own name
    for bad in (["--gitops", "jenkins"], ["--gitops", "argocd"]):
        code, _, stderr = kfops("render", "-f", platform, "--offline", *bad,
                                "--out", str(tmp_path / "bad"))
        assert code == 2
        assert ("'jenkins' is not one of argocd, flux" if bad[1] == "jenkins"
                else "--repo-url: Argo CD needs") in stderr
        assert not (tmp_path / "bad").exists()


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- What Argo CD would do, on the emulator -------------------------------------------------

def argocd_manifests(bundle_dir: Path, application: dict[str, Any],
                     work: Path) -> list[dict[str, Any]]:
    """What Argo CD's repo server renders for an Application: `kustomize build` of its
    path, the Application's inline patches merged into the kustomization there
    (https://argo-cd.readthedocs.io/en/stable/user-guide/kustomize/#patches); without
    patches, a kustomization of resources alone is the objects of its files. The
    secrets Application stands for the sealed-secrets controller: the Secrets it makes
    are the bundle's own."""
    path = application["spec"]["source"]["path"].removeprefix("bundle/")
    if path == "gitops/argocd/secrets":
        return [d for p in sorted((bundle_dir / "secrets").rglob("*.yaml"))
                for d in documents(p.read_text())]
    kustomization = yaml.safe_load((bundle_dir / path / "Kustomization").read_text())
    patches = ((application["spec"]["source"].get("kustomize") or {}).get("patches") or [])
    if not patches:
        return [d for name in kustomization["resources"]
                for d in yaml.load_all((bundle_dir / path / name).read_text(),
                                       Loader=yaml.CSafeLoader) if d]
    copy = work / path
    shutil.copytree(bundle_dir / path, copy)
    (copy / "Kustomization").write_text(yaml.safe_dump({**kustomization, "patches": patches}))
    return documents(find_kustomize().build(copy))


def sync(cluster: Cluster, objects: list[dict[str, Any]]) -> None:
    """One sync wave: server-side apply of every object, then wait until they are healthy as
    Argo CD judges it (the CRD and webhook Lua of argocd-cm-patch.yaml, its built-in check
    of Deployments, StatefulSets and DaemonSets)."""
    for obj in objects:
        cluster.apply(obj)
    crds = [o for o in objects if o["kind"] == "CustomResourceDefinition"]
    if crds:
        wait_for(FAST_WAITS, "CRDs", lambda: [c["metadata"]["name"] for c in crds
                                             if not _established(cluster, c)])
        cluster.learn_crds(crds)
    hooks = [o for o in objects if o["kind"].endswith("WebhookConfiguration")
             and any(a in (o["metadata"].get("annotations") or {}) for a in INJECT_ANNOTATIONS)]
    wait_for_workloads(cluster, [o for o in objects if o["kind"] in WORKLOAD_KINDS], FAST_WAITS)
    wait_for(FAST_WAITS, "webhook CAs", lambda: [h["metadata"]["name"] for h in hooks
                                                 if not _ca_injected(cluster, h)])


def _live(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    live = cluster.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"],
                       obj["metadata"].get("namespace"))
    assert live is not None
    return live


def _established(cluster: Cluster, crd: dict[str, Any]) -> bool:
    live = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                       crd["metadata"]["name"]) or {}
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (live.get("status") or {}).get("conditions") or [])


def _ca_injected(cluster: Cluster, hook: dict[str, Any]) -> bool:
    live = cluster.get(hook["apiVersion"], hook["kind"], hook["metadata"]["name"]) or {}
    return all((h.get("clientConfig") or {}).get("caBundle") for h in live.get("webhooks") or [])


def test_argocd_waves_converge_as_kfops_apply_does(rendered: Rendered, cluster: Cluster,
                                                    tmp_path: Path) -> None:
    """Application by Application in wave order, and inside each wave by wave, waiting for
    health in between: no webhook refuses an object, and afterwards kfops's plan of the
    bundle finds nothing to create and nothing to change but Argo CD's own annotations."""
    if rendered.release != RELEASES[-1]:
        pytest.skip("one emulator apply for the module: the newest release")
    bundle_dir = tmp_path / "bundle"
    write_bundle(with_gitops(rendered.bundle, GitOpsOptions("argocd", repo_url=REPO)),
                 bundle_dir)
    applications = sorted((documents(p.read_text())[0]
                           for p in (bundle_dir / "gitops/argocd/apps").iterdir()), key=wave)
    annotated = set()
    for application in applications:
        objects = argocd_manifests(bundle_dir, application, tmp_path / "work")
        annotated |= {describe(o) for o in objects if any(
            key.startswith("argocd.argoproj.io/")
            for key in o["metadata"].get("annotations") or {})}
        for number in sorted({wave(o) for o in objects}):
            sync(cluster, [o for o in objects if wave(o) == number])
    # Argo CD's health of the CRDs and webhooks before and after, with the shipped Lua
    checks = health_checks(rendered.bundle)
    crd_check = checks["apiextensions.k8s.io_CustomResourceDefinition"]
    hook_check = checks["admissionregistration.k8s.io_ValidatingWebhookConfiguration"]
    crds = [o.obj for o in rendered.bundle.objects if o.kind == "CustomResourceDefinition"]
    hooks = [o.obj for o in rendered.bundle.objects if o.kind.endswith("WebhookConfiguration")]
    assert {health(crd_check, c) for c in crds} == {"Progressing"}
    assert {health(crd_check, _live(cluster, c)) for c in crds} == {"Healthy"}
    injected = [h for h in hooks if set(INJECT_ANNOTATIONS) & set(
        h["metadata"].get("annotations") or {})]
    assert injected
    assert {health(hook_check, h) for h in injected} == {"Progressing"}
    assert {health(hook_check, _live(cluster, h)) for h in hooks} == {"Healthy"}
    files = [BundleFile(p, items[0].component, tuple(i.obj for i in items))
             for p, items in rendered.bundle.files.items() if items]
    plan = plan_bundle(cluster, files, ApplySet("lab"))
    assert len(plan) == len(rendered.bundle.objects)
    assert not [e.object for e in plan if e.action == "create"]
    updates = {e.object: e.changes for e in plan if e.action == "update"}
    # kfops's apply would take Argo CD's annotations off again, and change nothing else
    assert set(updates) <= annotated
    assert all(c.startswith("metadata.annotations") for changes in updates.values()
               for c in changes)
