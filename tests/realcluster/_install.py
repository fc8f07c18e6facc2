"""One kfops install on a test control plane, shared by the real tier's test modules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.controlplane import ControlPlane
from tests.helpers.rest import Rest


@dataclass
class Install:
    """The platform file, the control plane it is applied to, a raw client to look at it,
    and the folder of the webhookless kustomize its renders use."""

    path: Path
    plane: ControlPlane
    rest: Rest
    tools: Path
