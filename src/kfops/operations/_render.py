"""The whole platform: the render with every feature of the platform file taking part."""

from __future__ import annotations

import dataclasses

from kfops.airgap import airgap_features
from kfops.config import LoadedPlatform, UserEntry
from kfops.gpu import gpu_features
from kfops.identity import identity_features
from kfops.ingress import ingress_features
from kfops.render import RenderOptions, RenderResult, customization_features, render
from kfops.secrets import StateDir, credential_checks, credential_features, state_dir_for
from kfops.storage import object_store_features, storage_features
from kfops.tenancy import tenancy_checks, tenancy_features


def render_platform(loaded: LoadedPlatform, options: RenderOptions | None = None, *,
                    live_users: tuple[UserEntry, ...] = ()) -> RenderResult:
    """Render `loaded` with its environment, identity, tenancy, GPU and air-gap features.

    The administrator's own extra manifests and patches come after kfops's features.
    `live_users`: Dex users the cluster holds from `kfops user add --live`, which an
    apply keeps beside the file's. Within each phase the features run in this order,
    then `options.contributions`.
    """
    options = options or RenderOptions()
    features = (*ingress_features(), *storage_features(), *credential_features(),
                *object_store_features(), *identity_features(live_users), *tenancy_features(),
                *gpu_features(), *customization_features(),
                *airgap_features(), *credential_checks(), *tenancy_checks(),
                *options.contributions)
    state = options.state or StateDir(options.state_dir or state_dir_for(loaded.path),
                                      write_through=False)
    return render(loaded, dataclasses.replace(options, contributions=features, state=state))


def validate_platform(loaded: LoadedPlatform,
                      options: RenderOptions | None = None) -> RenderResult:
    """Render and validate `loaded` without keeping anything: no bundle is written and new
    generated values stay in memory (`kfops validate`). ConfigError or ValidationError
    when it is not valid."""
    options = dataclasses.replace(options or RenderOptions(), write_state=False)
    return render_platform(loaded, options)
