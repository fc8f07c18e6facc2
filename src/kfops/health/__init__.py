"""Health of an installed platform: status per component, and doctor's known-failure rules."""

from ._doctor import chosen_rules, run_doctor
from ._facts import InstallFacts, facts_from_files
from ._findings import DoctorReport, Finding, Rule, RuleResult
from ._rules import RULES
from ._snapshot import LOG_LINES, Snapshot
from ._status import ComponentStatus, judge_workload, platform_status

__all__ = [
    "LOG_LINES",
    "RULES",
    "ComponentStatus",
    "DoctorReport",
    "Finding",
    "InstallFacts",
    "Rule",
    "RuleResult",
    "Snapshot",
    "chosen_rules",
    "facts_from_files",
    "judge_workload",
    "platform_status",
    "run_doctor",
]
