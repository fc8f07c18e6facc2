"""Flux: one Kustomization per stage, each depending on the one before, waiting for its
objects to be ready; prune that keeps what kfops keeps; SOPS-encrypted Secrets.

Every field of the Kustomizations is documented on
https://fluxcd.io/flux/components/kustomize/kustomizations/ (the section named beside it).
"""

from __future__ import annotations

from typing import Any

from kfops.render import Bundle

from ._kustomize import KUSTOMIZATION, annotation_patch, kustomization
from ._options import GitOpsOptions
from ._stages import SECRETS_WAVE, Stage, encrypted_name, secret_files, stages_of
from ._yaml import dump

FOLDER = "gitops/flux"
STAGES = f"{FOLDER}/stages"
SECRETS = f"{FOLDER}/secrets"
ROOT = f"{FOLDER}/root.yaml"
# "Prune": an object annotated so is never garbage-collected by the Kustomization.
PRUNE = "kustomize.toolkit.fluxcd.io/prune"
HEADER = ("Written by kfops render --gitops flux: do not edit, render again.\n"
          "See docs/gitops.md of kfops.")
#: kfops's apply waits up to 10 minutes (kfops.cluster.WaitSettings) for each stage.
TIMEOUT = "10m"


def flux_files(bundle: Bundle, options: GitOpsOptions) -> dict[str, str]:
    """Bundle path -> text of every file the Flux output adds to `bundle`."""
    prefix = f"kfops-{bundle.lock['platform']}"
    secrets = secret_files(bundle)
    order: list[tuple[int, str, dict[str, Any]]] = []
    for stage in stages_of(bundle):
        order.append((stage.wave, stage.folder, _stage_spec(stage, options)))
    if secrets:
        order.append((SECRETS_WAVE, f"{SECRETS_WAVE}-secrets", _secrets_spec(options)))
    order.sort(key=lambda item: item[0])
    files: dict[str, str] = {}
    before = ""
    for _, name, spec in order:
        files[f"{STAGES}/{name}.yaml"] = dump(
            [_kustomization(f"{prefix}-{name}", options, spec, before)], HEADER)
        before = f"{prefix}-{name}"
    if secrets:
        files[f"{SECRETS}/{KUSTOMIZATION}"] = kustomization(
            [encrypted_name(path) for path in secrets],
            HEADER + "\nThe files listed are written by gitops/encrypt-secrets.sh (sops).")
    files[ROOT] = dump([_kustomization(prefix, options, {
        "path": f"./{options.in_repository(STAGES)}", "wait": False}, "")], HEADER + (
        "\nBootstrap: kubectl apply -f this file (Flux installed, its GitRepository "
        f"{options.source} following this repository)."))
    return files


def _kustomization(name: str, options: GitOpsOptions, spec: dict[str, Any],
                   depends_on: str) -> dict[str, Any]:
    """A Kustomization of `spec["path"]` in the bundle's GitRepository.

    - interval, retryInterval ("Interval", "Retry interval"): reconciled every
      10 minutes, a failed one (a webhook not answering yet) again after 1 minute
    - timeout ("Timeout"), prune ("Prune"), wait ("Wait": every object it applies
      ready, as kfops waits for CRDs, Deployments, StatefulSets and DaemonSets)
    - sourceRef ("Source reference"), dependsOn ("Dependencies")
    """
    namespace, source = options.source.split("/")
    body: dict[str, Any] = {
        "interval": "10m", "retryInterval": "1m", "timeout": TIMEOUT,
        "path": spec.pop("path"), "prune": True, "wait": spec.pop("wait", True),
        "sourceRef": {"kind": "GitRepository", "name": source, "namespace": namespace},
    }
    if depends_on:
        body["dependsOn"] = [{"name": depends_on}]
    body.update(spec)
    return {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": options.tool_namespace}, "spec": body}


def _stage_spec(stage: Stage, options: GitOpsOptions) -> dict[str, Any]:
    """A stage folder; PVCs, Profiles and kfops.io/keep objects annotated not to be pruned
    ("Patches": inline patches with a target, so the stage files stay as rendered)."""
    spec: dict[str, Any] = {"path": f"./{options.in_repository(stage.folder)}"}
    if stage.kept:
        spec["patches"] = [annotation_patch(t, {PRUNE: "disabled"}) for t in stage.kept]
    return spec


def _secrets_spec(options: GitOpsOptions) -> dict[str, Any]:
    """The SOPS-encrypted Secrets, decrypted by the kustomize-controller ("Decryption":
    provider sops, secretRef: the Secret holding the private key)."""
    return {"path": f"./{options.in_repository(SECRETS)}",
            "decryption": {"provider": "sops", "secretRef": {"name": options.sops_secret}}}
