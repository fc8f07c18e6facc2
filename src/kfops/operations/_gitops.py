"""`kfops render --gitops`: the bundle with the objects that make Argo CD or Flux apply it."""

from __future__ import annotations

import dataclasses

from kfops.gitops import GitOpsOptions, with_gitops
from kfops.render import RenderResult


def with_gitops_files(result: RenderResult, options: GitOpsOptions) -> RenderResult:
    """`result` whose bundle also holds the GitOps files of `options.tool`: files kfops never
    applies, whose digests the lock records like every other file's."""
    return dataclasses.replace(result, bundle=with_gitops(result.bundle, options))
