"""The kustomization files of the GitOps output: which files a folder's Application or
Kustomization applies, and the patches that annotate objects without editing stage files."""

from __future__ import annotations

from typing import Any

from ._stages import Target
from ._yaml import dump

#: kustomize recognises `kustomization.yaml`, `kustomization.yml` and `Kustomization`
#: (https://kubectl.docs.kubernetes.io/references/kustomize/glossary/#kustomization-root),
#: and so does Argo CD when it decides an Application's path is a kustomization
#: (KustomizationNames in https://github.com/argoproj/argo-cd/blob/v2.4.14/util/kustomize/kustomize.go).
#: In a stage folder it is `Kustomization`: kfops reads every `*.yaml` of a stage folder
#: as objects to apply (apply --bundle, validate --bundle), and kubectl apply -f reads
#: `*.yaml`, `*.yml` and `*.json`; neither reads a file without those endings.
STAGE_KUSTOMIZATION = "Kustomization"
KUSTOMIZATION = "kustomization.yaml"


def kustomization(resources: list[str], header: str) -> str:
    """A kustomization listing `resources` (files of its own folder), nothing else.

    https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/resource/
    """
    return dump([{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                  "resources": resources}], header)


def annotation_patch(target: Target, annotations: dict[str, str]) -> dict[str, Any]:
    """A patch adding `annotations` to every object `target` matches.

    A strategic-merge patch with a target changes each object the target
    selects; its own kind and name are only placeholders, which kustomize
    replaces with each target's
    (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/patches/).
    """
    patch = dump([{"apiVersion": _api_version(target), "kind": target.kind or "Any",
                   "metadata": {"name": "any", "annotations": annotations}}])
    return {"target": target.as_dict(), "patch": patch}


def _api_version(target: Target) -> str:
    if target.group:
        return f"{target.group}/{target.version or 'v1'}"
    return target.version or "v1"
