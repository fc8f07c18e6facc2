"""Run doctor's rules on one snapshot: each rule on its own, so one that fails leaves the
others to run."""

from __future__ import annotations

from collections.abc import Sequence

from kfops.errors import InputError, KfopsError

from ._facts import InstallFacts
from ._findings import DoctorReport, Rule, RuleResult
from ._rules import RULES
from ._snapshot import Snapshot


def chosen_rules(only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[Rule]:
    """The rules `--only` and `--skip` leave (an unknown name is an InputError naming them all)."""
    names = [r.name for r in RULES]
    unknown = [n for n in (*only, *skip) if n not in names]
    if unknown:
        raise InputError(f"unknown doctor rule(s): {', '.join(unknown)} "
                         f"(the rules: {', '.join(names)})")
    return [r for r in RULES if (not only or r.name in only) and r.name not in skip]


def run_doctor(snapshot: Snapshot, facts: InstallFacts,
               rules: Sequence[Rule] = RULES) -> DoctorReport:
    """Every rule's findings on `snapshot`, or why it could not run."""
    results = []
    for rule in rules:
        try:
            findings = rule.check(snapshot, facts)
        except KfopsError as error:
            results.append(RuleResult(rule.name, error=str(error)))
            continue
        # A rule is a small function of what was read: a bug in one must not hide the
        # others' findings, so it is reported as that rule's failure to run.
        except Exception as error:
            results.append(RuleResult(rule.name, error=f"{type(error).__name__}: {error}"))
            continue
        results.append(RuleResult(rule.name, tuple(findings)))
    return DoctorReport(tuple(results), tuple(snapshot.unreadable))
