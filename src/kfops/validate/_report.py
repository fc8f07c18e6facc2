"""What validation found."""

from __future__ import annotations

from dataclasses import dataclass, field

from kfops.errors import ValidationProblem


@dataclass
class ValidationReport:
    """Problems (the render fails) and CEL rules that could not be evaluated (warnings)."""

    problems: list[ValidationProblem] = field(default_factory=list)
    not_evaluated: list[str] = field(default_factory=list)
    checked: int = 0
    cached: int = 0

    @property
    def ok(self) -> bool:
        """True when no object failed."""
        return not self.problems
