"""The result type of preflight checks (`kfops check`) that features run against a cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CheckState = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One preflight result: what was checked, pass/warn/fail, and what was found."""

    name: str
    state: CheckState
    detail: str
