"""`kfops doctor`: known failures on the live cluster, each with its evidence and fix."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from kfops.health import RULES, DoctorReport, Finding, chosen_rules
from kfops.operations import doctor_install
from kfops.render import RenderOptions

from ._cluster_commands import Install
from ._options import AllowPathsOption, OfflineOption, Output, OutputOption, grouped
from ._output import out, print_json


def register(app: typer.Typer) -> None:
    """Add `doctor` to the app."""
    app.command(name="doctor")(doctor_command)


@grouped
def doctor_command(
    install: Install,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="RULE", help="Run only these rules (repeatable or comma-separated; "
                                       "`--only list` prints the rules).")] = None,
    skip: Annotated[list[str] | None, typer.Option(
        "--skip", metavar="RULE", help="Leave these rules out (repeatable or "
                                       "comma-separated).")] = None,
    offline: OfflineOption = False,
    allow_paths_outside: AllowPathsOption = False,
    output: OutputOption = Output.text,
) -> None:
    """Find known failures on the cluster: what is wrong, the evidence, the fix (reads only;
    exit 1 on a failure, or when a rule could not run)."""
    names_only, names_skip = _names(only), _names(skip)
    if names_only == ["list"]:
        _print_rules(output)
        return
    rules = chosen_rules(names_only, names_skip)
    report = doctor_install(install.choice(), install.connection.connect, rules,
                            RenderOptions(offline=offline), allow_outside=allow_paths_outside)
    if output is Output.json:
        print_json(_as_json(report))
    else:
        _print_report(report, len(rules))
    if report.failed:
        raise typer.Exit(1)


def _names(given: list[str] | None) -> list[str]:
    return [n.strip() for entry in given or () for n in entry.split(",") if n.strip()]


def _print_rules(output: Output) -> None:
    if output is Output.json:
        print_json([{"name": r.name, "symptom": r.symptom} for r in RULES])
        return
    for rule in RULES:
        out.print(f"  {rule.name:<22} {rule.symptom}", markup=False)


def _as_json(report: DoctorReport) -> dict[str, Any]:
    return {
        "failed": report.failed,
        "findings": [_finding_json(f) for f in report.findings],
        "rules": [{"name": r.rule, "findings": len(r.findings),
                   **({"error": r.error} if r.error is not None else {})}
                  for r in report.results],
        "unreadable": list(report.unreadable),
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {"rule": finding.rule, "severity": finding.severity, "summary": finding.summary,
            "evidence": list(finding.evidence), "fix": finding.fix}


def _print_report(report: DoctorReport, rules: int) -> None:
    colours = {"failure": "red", "warning": "yellow"}
    for finding in report.findings:
        out.print(f"[{colours[finding.severity]}]{finding.severity}[/] "
                  f"[bold]{escape(finding.rule)}[/]: {escape(finding.summary)}")
        for line in finding.evidence:
            out.print(f"    {escape(line)}")
        out.print(f"  fix: {escape(finding.fix)}")
    for result in report.not_run:
        out.print(f"[red]not run[/] [bold]{escape(result.rule)}[/]: {escape(str(result.error))}")
    for entry in report.unreadable:
        out.print(f"[yellow]not read[/] {escape(entry)}")
    failures = sum(1 for f in report.findings if f.severity == "failure")
    warnings = len(report.findings) - failures
    ran = rules - len(report.not_run)
    out.print(f"{ran} of {rules} rules ran: {failures} failure(s), {warnings} warning(s)"
              + (f", {len(report.not_run)} rule(s) could not run" if report.not_run else ""),
              markup=False)
