"""A Kubernetes API emulator for kfops's tests: kmock plus the rules in _state."""

from ._faults import Fault, FaultPlan
from ._server import RunningEmulator
from ._state import CLUSTER_SCOPE, ApiState, Kind, Settings

__all__ = ["CLUSTER_SCOPE", "ApiState", "Fault", "FaultPlan", "Kind", "RunningEmulator", "Settings"]
