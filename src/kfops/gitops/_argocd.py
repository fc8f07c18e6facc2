"""Argo CD: an app of apps, one Application per stage in sync waves, and the argocd-cm health
checks that make the waves wait as kfops's apply does.

Why one Application per stage (not per component): kfops waits at stage
boundaries (CRDs Established before anything uses them, namespaces before
what goes in them, prerequisites before the platform) and, inside a stage,
only for webhooks. A wave per stage gives exactly those waits; the webhook
waits become two sync waves inside the stage's Application. Per-component
Applications would add dozens of waits kfops does not have, and split
components whose objects refer to each other across Applications.

Every Argo CD field written here is documented on the page cited beside it.
"""

from __future__ import annotations

from typing import Any

from kfops.render import Bundle

from ._kustomize import (
    KUSTOMIZATION,
    STAGE_KUSTOMIZATION,
    annotation_patch,
    kustomization,
)
from ._options import GitOpsOptions
from ._stages import SECRETS_WAVE, Stage, encrypted_name, secret_files, stages_of
from ._yaml import dump

FOLDER = "gitops/argocd"
APPS = f"{FOLDER}/apps"
SECRETS = f"{FOLDER}/secrets"
HEALTH_PATCH = f"{FOLDER}/argocd-cm-patch.yaml"
ROOT = f"{FOLDER}/root.yaml"

# https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/ (the annotation, a string)
WAVE = "argocd.argoproj.io/sync-wave"
# https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/
# ("No Prune Resources": Prune=false; "Resource Deletion": Delete=false): a PVC or Profile
# is neither pruned by a sync nor deleted with its Application, as kfops keeps it.
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
KEEP_OPTIONS = "Prune=false,Delete=false"
#: Objects a webhook intercepts go in this wave of their stage's Application: after every
#: object of wave 0 (the webhook's Deployment, Service and configuration) is healthy.
AFTER_WEBHOOKS = "1"
HEADER = ("Written by kfops render --gitops argocd: do not edit, render again.\n"
          "See docs/gitops.md of kfops.")


def argocd_files(bundle: Bundle, options: GitOpsOptions) -> dict[str, str]:
    """Bundle path -> text of every file the Argo CD output adds to `bundle`."""
    prefix = f"kfops-{bundle.lock['platform']}"
    stages = stages_of(bundle)
    secrets = secret_files(bundle)
    files: dict[str, str] = {}
    for stage in stages:
        files[f"{stage.folder}/{STAGE_KUSTOMIZATION}"] = kustomization(list(stage.files), HEADER)
        files[f"{APPS}/{stage.folder}.yaml"] = dump(
            [_stage_application(prefix, stage, options)], HEADER)
    if secrets:
        names = [encrypted_name(path) for path in secrets]
        files[f"{SECRETS}/{KUSTOMIZATION}"] = kustomization(names, HEADER + (
            "\nThe files listed are written by gitops/encrypt-secrets.sh (kubeseal)."))
        files[f"{APPS}/{SECRETS_WAVE}-secrets.yaml"] = dump(
            [_secrets_application(prefix, options)], HEADER)
    files[ROOT] = dump([_root_application(prefix, options)], HEADER + (
        "\nBootstrap: kubectl apply -f this file (after argocd-cm-patch.yaml)."))
    files[HEALTH_PATCH] = dump([_health_patch()], HEADER + (
        "\nMerge into argocd-cm: kubectl -n argocd patch configmap argocd-cm --type merge"
        " --patch-file this file"))
    return files


def _application(name: str, options: GitOpsOptions, path: str, spec: dict[str, Any],
                 wave: int | None = None) -> dict[str, Any]:
    """An Application of `path` (a folder of the bundle) with `spec` added.

    https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#applications
    (metadata.namespace: where Argo CD runs; spec.project; spec.source.repoURL,
    targetRevision, path; spec.destination.server)
    """
    metadata: dict[str, Any] = {"name": name, "namespace": options.tool_namespace}
    if wave is not None:
        metadata["annotations"] = {WAVE: str(wave)}
    source: dict[str, Any] = {"repoURL": options.repo_url, "targetRevision": options.revision,
                              "path": options.in_repository(path)}
    source.update(spec.pop("source", {}))
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": metadata,
            "spec": {"project": options.project, "source": source,
                     "destination": {"server": options.destination}, **spec}}


def _sync_policy(*options: str) -> dict[str, Any]:
    """Automated sync with prune and self-heal, server-side apply, retried with backoff.

    - automated.prune / selfHeal:
      https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/
    - syncOptions ServerSideApply=true (kfops applies server-side; a large CRD does
      not fit the client-side last-applied annotation), RespectIgnoreDifferences=true:
      https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/
    - retry.limit, retry.backoff.duration / factor / maxDuration: an object in a
      Profile's namespace waits for the profile controller to make it:
      https://argo-cd.readthedocs.io/en/stable/user-guide/application-specification/
    """
    return {"automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["ServerSideApply=true", *options],
            "retry": {"limit": 10, "backoff": {"duration": "10s", "factor": 2,
                                                "maxDuration": "3m"}}}


def _stage_application(prefix: str, stage: Stage, options: GitOpsOptions) -> dict[str, Any]:
    """The Application of one stage folder, in the stage's wave."""
    patches = ([annotation_patch(t, {WAVE: AFTER_WEBHOOKS}) for t in stage.later]
               + [annotation_patch(t, {SYNC_OPTIONS: KEEP_OPTIONS}) for t in stage.kept])
    spec: dict[str, Any] = {}
    if patches:
        # https://argo-cd.readthedocs.io/en/stable/user-guide/kustomize/#patches
        spec["source"] = {"kustomize": {"patches": patches}}
    extra = ["RespectIgnoreDifferences=true"] if stage.injected else []
    if stage.wave == 0:
        # https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/
        # ("Skip Dry Run for new custom resources types")
        extra.append("SkipDryRunOnMissingResource=true")
    spec["syncPolicy"] = _sync_policy(*extra)
    if stage.injected:
        spec["ignoreDifferences"] = [_injected_ca(group, kind) for group, kind in stage.injected]
    return _application(f"{prefix}-{stage.folder}", options, stage.folder, spec, stage.wave)


def _injected_ca(group: str, kind: str) -> dict[str, Any]:
    """The caBundle cert-manager's CA injector writes is not the bundle's: upstream's empty
    `caBundle: ""` must neither be applied over it nor show the Application OutOfSync
    (kfops's apply leaves the field out for the same reason).

    https://argo-cd.readthedocs.io/en/stable/user-guide/diffing/#application-level-configuration
    (group, kind, jqPathExpressions)
    """
    path = (".spec.conversion.webhook.clientConfig.caBundle"
            if kind == "CustomResourceDefinition" else ".webhooks[]?.clientConfig.caBundle")
    return {"group": group, "kind": kind, "jqPathExpressions": [path]}


def _secrets_application(prefix: str, options: GitOpsOptions) -> dict[str, Any]:
    """The SealedSecrets gitops/encrypt-secrets.sh writes, between namespaces and prereqs.

    The sealed-secrets controller makes each Secret
    (https://github.com/bitnami-labs/sealed-secrets#usage); Argo CD's built-in
    health check of a SealedSecret waits until it has (resource_customizations/
    bitnami.com/SealedSecret/health.lua of https://github.com/argoproj/argo-cd).
    """
    spec = {"syncPolicy": _sync_policy()}
    return _application(f"{prefix}-secrets", options, SECRETS, spec, SECRETS_WAVE)


def _root_application(prefix: str, options: GitOpsOptions) -> dict[str, Any]:
    """The app of apps: it applies the stage Applications, which Argo CD syncs wave by wave.

    https://argo-cd.readthedocs.io/en/stable/operator-manual/cluster-bootstrapping/#app-of-apps-pattern
    """
    return _application(prefix, options, APPS, {"syncPolicy": _sync_policy()})


def _health_patch() -> dict[str, Any]:
    """The argocd-cm keys of the health checks the waves rely on.

    `resource.customizations.health.<group>_<kind>` holds a Lua health check:
    https://argo-cd.readthedocs.io/en/stable/operator-manual/health/#way-1-define-a-custom-health-check-in-argocd-cm-configmap
    The Application check is the one that page gives under "Argocd App":
    without it (Argo CD >= 1.8) the root Application does not wait for a
    stage's Application to be healthy before the next wave.
    """
    return {"data": {
        "resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH,
        "resource.customizations.health.apiextensions.k8s.io_CustomResourceDefinition":
            CRD_HEALTH,
        "resource.customizations.health.admissionregistration.k8s.io_MutatingWebhookConfiguration":
            WEBHOOK_HEALTH,
        "resource.customizations.health."
        "admissionregistration.k8s.io_ValidatingWebhookConfiguration": WEBHOOK_HEALTH,
    }}


#: A stage's Application is as healthy as Argo CD found its objects (Missing before its first
#: sync, Progressing while a Deployment is not available, ...).
APPLICATION_HEALTH = """\
hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
"""

#: As kfops waits: a CRD is ready once the API server serves it (Established).
CRD_HEALTH = """\
hs = {}
hs.status = "Progressing"
hs.message = "waiting until the API server serves it (Established)"
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "NamesAccepted" and condition.status == "False" then
      hs.status = "Degraded"
      hs.message = condition.message
      return hs
    end
    if condition.type == "Established" and condition.status == "True" then
      hs.status = "Healthy"
      hs.message = ""
    end
  end
end
return hs
"""

#: As kfops waits: a webhook whose CA cert-manager injects answers once the CA is there.
WEBHOOK_HEALTH = """\
hs = {}
hs.status = "Healthy"
hs.message = ""
local annotations = obj.metadata.annotations
if annotations == nil or obj.webhooks == nil then
  return hs
end
if annotations["cert-manager.io/inject-ca-from"] == nil and
    annotations["cert-manager.io/inject-ca-from-secret"] == nil then
  return hs
end
for _, hook in ipairs(obj.webhooks) do
  if hook.clientConfig == nil or hook.clientConfig.caBundle == nil or
      hook.clientConfig.caBundle == "" then
    hs.status = "Progressing"
    hs.message = "waiting for cert-manager to inject the CA of " .. hook.name
    return hs
  end
end
return hs
"""
