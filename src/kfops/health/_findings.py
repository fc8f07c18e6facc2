"""What doctor reports: findings (what is wrong, the evidence, the fix) and rules that could
not run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ._facts import InstallFacts
    from ._snapshot import Snapshot

Severity = Literal["failure", "warning"]


@dataclass(frozen=True)
class Finding:
    """One known failure found on the cluster."""

    rule: str
    severity: Severity
    summary: str
    """What is wrong, in the words users search for."""
    evidence: tuple[str, ...]
    """The objects, events, conditions and log lines that show it."""
    fix: str
    """A command to run, or the platform.yaml field to change."""


@dataclass(frozen=True)
class Rule:
    """A known failure and how to recognise it: `check` reads the snapshot, never writes."""

    name: str
    """What `--only` and `--skip` take."""
    symptom: str
    check: Callable[[Snapshot, InstallFacts], list[Finding]]


@dataclass(frozen=True)
class RuleResult:
    """What one rule found, or why it could not run."""

    rule: str
    findings: tuple[Finding, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class DoctorReport:
    """Every rule's result, and what the snapshot could not read."""

    results: tuple[RuleResult, ...]
    unreadable: tuple[str, ...] = field(default=())
    """`<kind> in <namespace>: <why>` for each list the credentials were refused."""

    @property
    def findings(self) -> list[Finding]:
        """Every finding, failures first, in rule order."""
        every = [f for r in self.results for f in r.findings]
        return sorted(every, key=lambda f: f.severity != "failure")

    @property
    def not_run(self) -> list[RuleResult]:
        """The rules that could not run (an error reading or judging)."""
        return [r for r in self.results if r.error is not None]

    @property
    def failed(self) -> bool:
        """Whether a rule found a failure or could not run (warnings alone do not fail)."""
        return bool(self.not_run) or any(f.severity == "failure" for f in self.findings)
