"""GitOps output: the bundle plus the Argo CD Applications or Flux Kustomizations that apply
it in kfops's order (`kfops render --gitops argocd|flux`)."""

from ._gitops import gitops_files, with_gitops
from ._options import TOOLS, GitOpsOptions, Tool
from ._stages import Stage, Target, stages_of

__all__ = [
    "TOOLS",
    "GitOpsOptions",
    "Stage",
    "Target",
    "Tool",
    "gitops_files",
    "stages_of",
    "with_gitops",
]
