"""The whole platform: the render with every feature of the platform file taking part."""

from __future__ import annotations

import dataclasses

from kfops.airgap import airgap_features
from kfops.config import LoadedPlatform
from kfops.gpu import gpu_features
from kfops.identity import identity_features
from kfops.ingress import ingress_features
from kfops.render import RenderOptions, RenderResult, render
from kfops.secrets import StateDir, credential_checks, credential_features, state_dir_for
from kfops.storage import storage_features
from kfops.tenancy import tenancy_checks, tenancy_features


def render_platform(loaded: LoadedPlatform, options: RenderOptions | None = None) -> RenderResult:
    """Render `loaded` with its environment, identity, tenancy, GPU and air-gap features."""
    options = options or RenderOptions()
    features = (*ingress_features(), *storage_features(), *credential_features(),
                *identity_features(), *tenancy_features(), *gpu_features(),
                *options.contributions, *airgap_features(), *credential_checks(),
                *tenancy_checks())
    state = options.state or StateDir(options.state_dir or state_dir_for(loaded.path),
                                      write_through=False)
    return render(loaded, dataclasses.replace(options, contributions=features, state=state))
