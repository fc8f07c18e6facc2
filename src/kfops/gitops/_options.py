"""What the GitOps objects point at: the git repository, the cluster, the tool's namespaces."""

from __future__ import annotations

from dataclasses import dataclass

from kfops.errors import InputError

#: The tools `kfops render --gitops` writes objects for.
TOOLS = ("argocd", "flux")


@dataclass(frozen=True)
class GitOpsOptions:
    """Where the bundle lives in git and where the tool applies it.

    The defaults are each tool's own: Argo CD's `argocd` namespace, `default`
    project and in-cluster destination; Flux's `flux-system` namespace and the
    GitRepository `flux bootstrap` creates.
    """

    tool: str
    path: str = "bundle"
    """The bundle folder inside the git repository (relative to its root)."""
    repo_url: str = ""
    """Argo CD: the git repository URL (`spec.source.repoURL`); required for Argo CD."""
    revision: str = "HEAD"
    """Argo CD: the branch, tag or commit to follow (`spec.source.targetRevision`)."""
    destination: str = "https://kubernetes.default.svc"
    """Argo CD: the API server URL of the cluster to install on (`spec.destination.server`)."""
    project: str = "default"
    """Argo CD: the AppProject of the Applications."""
    namespace: str = ""
    """Where the Applications or Kustomizations live (default `argocd` / `flux-system`)."""
    source: str = "flux-system/flux-system"
    """Flux: `namespace/name` of the GitRepository holding the bundle."""
    sops_secret: str = "sops-age"
    """Flux: the Secret (in the Kustomizations' namespace) holding the SOPS private key."""

    def __post_init__(self) -> None:
        if self.tool not in TOOLS:
            raise InputError(f"--gitops: {self.tool!r} is not one of {', '.join(TOOLS)}")
        if self.tool == "argocd" and not self.repo_url:
            raise InputError("--repo-url: Argo CD needs the git repository URL of the bundle "
                             "(spec.source.repoURL), e.g. https://github.com/org/platform.git")
        if self.path.startswith("/") or ".." in self.path.split("/"):
            raise InputError(f"--repo-path: {self.path!r} is not a folder inside the repository "
                             "(a relative path such as clusters/lab/bundle, or . for its root)")
        if self.source.count("/") != 1 or not all(self.source.split("/")):
            raise InputError(f"--flux-source: {self.source!r} is not NAMESPACE/NAME")

    @property
    def folder(self) -> str:
        """The bundle folder inside the repository (`.` for its root), normalised."""
        return "/".join(p for p in self.path.split("/") if p not in ("", ".")) or "."

    def in_repository(self, relative: str) -> str:
        """The path in the repository of `relative`, a path inside the bundle."""
        return relative if self.folder == "." else f"{self.folder}/{relative}"

    @property
    def tool_namespace(self) -> str:
        """The namespace of the generated Applications or Kustomizations."""
        return self.namespace or ("argocd" if self.tool == "argocd" else "flux-system")
