"""Health of an installed platform: status per component (and, later, doctor rules)."""

from ._status import ComponentStatus, platform_status

__all__ = ["ComponentStatus", "platform_status"]
