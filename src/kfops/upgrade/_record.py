"""The record of an upgrade in progress: the ConfigMap `kfops-<platform>-upgrade` in
kube-system, written once the gates passed and the backup was taken, removed when the
upgrade is verified. A run that finds it resumes the upgrade it names instead of
checking the gates again (a half-upgraded platform would fail them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kfops.cluster import Cluster
from kfops.errors import ClusterError
from kfops.objects import MANAGED_BY, PARENT_NAMESPACE, PLATFORM_LABEL


@dataclass(frozen=True)
class UpgradeRecord:
    """An upgrade started: from which release to which, its backup, and the counts before."""

    installed: str
    target: str
    backup: str
    """The backup folder taken before ("" with --no-backup)."""
    counts: dict[str, int]
    forced: tuple[str, ...] = ()


def _name(platform: str) -> str:
    return f"kfops-{platform}-upgrade"


def read_record(cluster: Cluster, platform: str) -> UpgradeRecord | None:
    """The upgrade in progress on the install, if any."""
    found = cluster.get("v1", "ConfigMap", _name(platform), PARENT_NAMESPACE)
    if found is None:
        return None
    try:
        data = json.loads((found.get("data") or {}).get("upgrade", ""))
        return UpgradeRecord(str(data["installed"]), str(data["target"]), str(data["backup"]),
                             {str(k): int(v) for k, v in data["counts"].items()},
                             tuple(str(f) for f in data.get("forced", ())))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ClusterError(f"ConfigMap {PARENT_NAMESPACE}/{_name(platform)} is not the record "
                           "kfops writes of an upgrade in progress; delete it if no upgrade "
                           "is under way") from None


def write_record(cluster: Cluster, platform: str, record: UpgradeRecord) -> None:
    """Record the upgrade as started."""
    cluster.apply(_config_map(platform, record))


def remove_record(cluster: Cluster, platform: str) -> None:
    """The upgrade is done."""
    cluster.delete("v1", "ConfigMap", _name(platform), PARENT_NAMESPACE)


def _config_map(platform: str, record: UpgradeRecord) -> dict[str, Any]:
    text = json.dumps({"installed": record.installed, "target": record.target,
                       "backup": record.backup, "counts": record.counts,
                       "forced": list(record.forced)}, sort_keys=True)
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": _name(platform), "namespace": PARENT_NAMESPACE,
                         "labels": {MANAGED_BY: "kfops", PLATFORM_LABEL: platform}},
            "data": {"upgrade": text}}
