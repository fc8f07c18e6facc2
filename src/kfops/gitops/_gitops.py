"""The GitOps files of a bundle, added as files kfops never applies (the lock records them)."""

from __future__ import annotations

import dataclasses

from kfops.render import Bundle

from ._argocd import SECRETS as ARGOCD_SECRETS
from ._argocd import argocd_files
from ._flux import SECRETS as FLUX_SECRETS
from ._flux import flux_files
from ._hook import HOOK, hook_script
from ._options import GitOpsOptions
from ._stages import secret_files


def gitops_files(bundle: Bundle, options: GitOpsOptions) -> dict[str, str]:
    """Bundle path -> text of the objects and hook that make `options.tool` apply `bundle`
    as kfops does: a pure function (the same bundle and options give the same bytes)."""
    argocd = options.tool == "argocd"
    files = argocd_files(bundle, options) if argocd else flux_files(bundle, options)
    secrets = secret_files(bundle)
    if secrets:
        files[HOOK] = hook_script(options, secrets, ARGOCD_SECRETS if argocd else FLUX_SECRETS)
    return dict(sorted(files.items()))


def with_gitops(bundle: Bundle, options: GitOpsOptions) -> Bundle:
    """`bundle` with its GitOps files among the files that are not applied."""
    return dataclasses.replace(bundle, extra_files={**bundle.extra_files,
                                                    **gitops_files(bundle, options)})
