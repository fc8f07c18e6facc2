"""The whole platform: the render with every feature of the platform file taking part."""

from __future__ import annotations

import dataclasses

from kfops.config import LoadedPlatform
from kfops.identity import identity_features
from kfops.render import RenderOptions, RenderResult, render
from kfops.targets import environment_features, final_checks


def render_platform(loaded: LoadedPlatform, options: RenderOptions | None = None) -> RenderResult:
    """Render `loaded` with its environment and identity features (tenancy, GPU and air-gap
    features join here as they land)."""
    options = options or RenderOptions()
    features = (*environment_features(), *identity_features(), *options.contributions,
                *final_checks())
    return render(loaded, dataclasses.replace(options, contributions=features))
