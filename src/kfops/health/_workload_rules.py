"""Rules about the install's workloads and what the cluster says of them (events)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from kfops.cluster import failure_remedy, last_event
from kfops.objects import WORKLOAD_KINDS, describe

from ._facts import InstallFacts
from ._findings import Finding
from ._scope import APPLY, failing_pod_of, shown
from ._snapshot import Snapshot, parse_time
from ._status import judge_workload

RECENT = timedelta(hours=1)
"""How far back `warning-events` looks."""


def workload_unavailable(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """Workloads of the install that are not Available, with their pods' reasons (as `status`)."""
    findings = []
    for bundle_file in facts.workloads:
        for obj in bundle_file.objects:
            finding = _judge(snapshot, obj, bundle_file.component)
            if finding is not None:
                findings.append(finding)
    return findings


def _judge(snapshot: Snapshot, obj: dict[str, Any], component: str) -> Finding | None:
    api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
    if kind not in WORKLOAD_KINDS:
        return None
    metadata = obj["metadata"]
    namespace = str(metadata.get("namespace") or "")
    live = snapshot.find(api_version, kind, str(metadata["name"]), namespace)
    failure = None if live is None else failing_pod_of(snapshot, live)
    state, reason = judge_workload(kind, live, failure)
    if state == "ready":
        return None
    evidence = [f"{describe(obj)} ({component}): {reason}"]
    if failure is not None:
        said = last_event(snapshot.in_namespace("v1", "Event", namespace), {failure.pod})
        if said:
            evidence.append(f"last event of pod {failure.pod}: {said}")
        fix = failure_remedy(namespace, failure)
    elif live is None:
        fix = f"apply the platform again: {APPLY}"
    else:
        fix = f"see its rollout: kubectl -n {namespace} describe {kind.lower()} {metadata['name']}"
    return Finding("workload-unavailable", "failure" if state == "failed" else "warning",
                   f"{describe(obj)} is not available", tuple(evidence), fix)


def warning_events(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """Events of type Warning in the platform's namespaces in the last hour, grouped by reason."""
    since = snapshot.now - RECENT
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in snapshot.list("v1", "Event"):
        namespace = str((event.get("metadata") or {}).get("namespace") or "")
        if event.get("type") != "Warning" or namespace not in facts.namespaces:
            continue
        when = _when(event)
        if when is None or when < since:
            continue
        involved = event.get("involvedObject") or {}
        groups[(namespace, str(event.get("reason") or ""), str(involved.get("kind") or ""))
               ].append(event)
    findings = []
    for (namespace, reason, kind), events in sorted(groups.items()):
        count = sum(int(e.get("count") or 1) for e in events)
        names = sorted({str((e.get("involvedObject") or {}).get("name")) for e in events})
        newest = max(events, key=lambda e: _when(e) or since)
        findings.append(Finding(
            "warning-events", "warning",
            f"{count} Warning event(s) {reason} in {namespace} in the last hour",
            (f"{kind} {shown(names)}", f"latest: {str(newest.get('message') or '').strip()}"),
            f"kubectl -n {namespace} get events --field-selector type=Warning,reason={reason}"))
    return findings


def _when(event: dict[str, Any]) -> datetime | None:
    return parse_time(event.get("lastTimestamp") or event.get("eventTime")
                      or (event.get("metadata") or {}).get("creationTimestamp"))
