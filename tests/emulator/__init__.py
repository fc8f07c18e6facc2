"""A Kubernetes API emulator for kfops's tests: kmock plus the rules in _state."""

from ._faults import Fault, FaultPlan
from ._server import RunningEmulator
from ._state import ApiState, Kind, Settings

__all__ = ["ApiState", "Fault", "FaultPlan", "Kind", "RunningEmulator", "Settings"]
