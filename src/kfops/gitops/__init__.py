"""GitOps output: the bundle plus the Argo CD Applications or Flux Kustomizations that apply
it in kfops's order (`kfops render --gitops argocd|flux`)."""

from ._gitops import gitops_files, with_gitops
from ._options import TOOLS, GitOpsOptions
from ._paths import path_in_repository
from ._stages import Stage, Target, stages_of

__all__ = [
    "TOOLS",
    "GitOpsOptions",
    "Stage",
    "Target",
    "gitops_files",
    "path_in_repository",
    "stages_of",
    "with_gitops",
]
