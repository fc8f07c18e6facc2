"""The upgrade section of `plan` and `apply`: text for people, a dict for `-o json`."""

from __future__ import annotations

from typing import Any

from kfops.operations import UpgradePreview, UpgradeResult, gate_lines

_LISTED = 12
"""Objects listed per group before the rest are counted (plan -v lists them all)."""


def upgrade_lines(preview: UpgradePreview, verbose: bool = False) -> list[str]:
    """The upgrade section, most important first: what cannot be undone, replacements,
    version jumps, CRDs, objects, then the gates."""
    c = preview.changes
    lines = [f"{'downgrade' if preview.downgrade else 'upgrade'} {c.installed} → {c.target}"
             + (" (resuming what an earlier run started)" if preview.resuming else "")]
    if preview.downgrade:
        lines.append("  the databases are deleted and created anew, then the backup's dumps "
                     "and custom objects are restored: work since the backup is lost")
    for one in c.one_way:
        lines.append(f"  cannot be undone: {one.what} ({one.old} → {one.new}): {one.why} "
                     f"({one.url})")
    for r in c.replaced:
        lines += [f"  replaced: {r.component}: {r.old} → {r.new}", f"      {r.note}"]
    for jump in c.jumps:
        lines.append(f"  version jump: {jump.project} {jump.old} → {jump.new} ({jump.minors} "
                     f"minor versions; {jump.policy.policy}: {jump.policy.url}); kfops "
                     "applies the release's own manifests in one step, as Kubeflow tested "
                     "them, and restarts sidecars after")
    for level in c.pod_security:
        lines.append(f"  pod security: {level} (pods not meeting it are refused when they "
                     "are created again)")
    lines += _group("components added", c.components_added, verbose)
    lines += _group("components removed", c.components_removed, verbose)
    lines += _group("CRDs removed", c.crds_removed, verbose)
    lines += _group("CRDs added", c.crds_added, verbose)
    lines += _group("CRD storage versions (objects rewritten, storedVersions trimmed)",
                    [f"{s.crd}: {s.old} → {s.new}" for s in c.storage], verbose)
    lines += _group("recreated (immutable fields change)",
                    [f"{ch.obj['kind']} {ch.obj['metadata'].get('namespace', '')}/"
                     f"{ch.obj['metadata']['name']}: {ch.field}" for ch in c.immutable], verbose)
    lines += _group("moved namespace", [f"{a} → {b}" for a, b in c.moved], verbose)
    lines += _group("renamed", [f"{a} → {b}" for a, b in c.renamed], verbose)
    lines += _group("objects removed", c.removed, verbose)
    lines += _group("objects added", c.added, verbose)
    return lines + gate_lines(preview.gates)


def _group(title: str, items: list[str], verbose: bool) -> list[str]:
    if not items:
        return []
    shown = items if verbose else items[:_LISTED]
    lines = [f"  {title} ({len(items)}):"] + [f"      {item}" for item in shown]
    if len(shown) < len(items):
        lines.append(f"      ... and {len(items) - len(shown)} more (plan -v lists them)")
    return lines


def upgrade_json(preview: UpgradePreview) -> dict[str, Any]:
    """The upgrade section for scripts."""
    c = preview.changes
    return {
        "from": c.installed, "to": c.target, "resuming": preview.resuming is not None,
        "oneWay": [{"what": o.what, "from": o.old, "to": o.new, "why": o.why, "url": o.url}
                   for o in c.one_way],
        "replaced": [{"component": r.component, "from": r.old, "to": r.new, "note": r.note}
                     for r in c.replaced],
        "versionJumps": [{"project": j.project, "from": j.old, "to": j.new,
                          "minors": j.minors, "policy": j.policy.policy, "url": j.policy.url}
                         for j in c.jumps],
        "podSecurity": c.pod_security,
        "componentsAdded": c.components_added, "componentsRemoved": c.components_removed,
        "crdsAdded": c.crds_added, "crdsRemoved": c.crds_removed,
        "storageVersions": [{"crd": s.crd, "from": s.old, "to": s.new} for s in c.storage],
        "recreated": [{"object": f"{ch.obj['kind']} {ch.obj['metadata']['name']}",
                       "field": ch.field} for ch in c.immutable],
        "moved": [list(pair) for pair in c.moved], "renamed": [list(p) for p in c.renamed],
        "removed": c.removed, "added": c.added,
        "gates": [{"name": g.name, "passed": g.passed, "forced": g.forced,
                   "summary": g.summary, "evidence": list(g.evidence), "fix": g.fix}
                  for g in preview.gates],
    }


def upgrade_done_lines(result: UpgradeResult) -> list[str]:
    """What the upgrade's own steps did, and the verification."""
    lines = [f"upgraded {result.installed} → {result.target}",
             f"  backup {result.backup}" if result.backup else "  no backup (--no-backup)"]
    lines += [f"  reset {claim}" for claim in result.reset]
    if result.restored:
        lines.append(f"  {result.restored}")
    for title, items in (("stopped", result.stopped), ("recreated", result.recreated),
                         ("migrated", result.migrated), ("restarted", result.restarted)):
        lines += [f"  {title} {item}" for item in items]
    if result.store:
        lines.append(f"  {result.store}")
    counts = ", ".join(f"{what} {n}" for what, n in result.counts_after.items())
    lines.append(f"  verified: every workload available; kept {counts or 'nothing to count'}")
    return lines


def upgrade_done_json(result: UpgradeResult) -> dict[str, Any]:
    """The upgrade's steps for scripts."""
    return {"from": result.installed, "to": result.target, "backup": result.backup or None,
            "stopped": result.stopped,
            "recreated": result.recreated, "migrated": result.migrated,
            "restarted": result.restarted, "store": result.store, "reset": result.reset,
            "restored": result.restored or None,
            "countsBefore": result.counts_before,
            "countsAfter": result.counts_after}
