"""The Kubernetes client boundary and the apply engine (lightkube inside, kfops errors out)."""

from ._api import Cluster
from ._check import Check, CheckState
from ._engine import (
    ApplyOptions,
    ApplyProgress,
    ApplySummary,
    PlanEntry,
    QuietProgress,
    UninstallSummary,
    apply_bundle,
    plan_bundle,
    prune_bundle,
    uninstall,
)
from ._guarded import GeneratedValueHeld, Guard, keep_values, write_guarded
from ._inventory import (
    Inventory,
    installed_release,
    installs,
    inventory_workloads,
    read_inventory,
    recorded_workloads,
)
from ._kinds import KindInfo, Kinds, builtin_kind
from ._lease import (
    InstallLease,
    LeaseHolder,
    LeaseNotice,
    LeaseSettings,
    holder_identity,
)
from ._live import Installed, installed_platform
from ._pods import (
    IMAGE_PULL_REASONS,
    UNSCHEDULABLE,
    PodFailure,
    container_waiting,
    failing_pod,
    failure_remedy,
    last_event,
    newest_event,
    node_coming,
    pod_failure,
    workload_failure,
)
from ._protect import KEEP, PRUNE_RULE, WITHOUT_PVCS, namespace_claims
from ._prune import crd_instances
from ._retry import RetryPolicy
from ._rollout import rollout_restart
from ._steps import BundleFile, apply_steps
from ._waits import WaitSettings, namespace_pending, wait_for, wait_for_workloads
from ._webhooks import INJECT_ANNOTATIONS

__all__ = [
    "IMAGE_PULL_REASONS",
    "INJECT_ANNOTATIONS",
    "KEEP",
    "PRUNE_RULE",
    "UNSCHEDULABLE",
    "WITHOUT_PVCS",
    "ApplyOptions",
    "ApplyProgress",
    "ApplySummary",
    "BundleFile",
    "Check",
    "CheckState",
    "Cluster",
    "GeneratedValueHeld",
    "Guard",
    "InstallLease",
    "Installed",
    "Inventory",
    "KindInfo",
    "Kinds",
    "LeaseHolder",
    "LeaseNotice",
    "LeaseSettings",
    "PlanEntry",
    "PodFailure",
    "QuietProgress",
    "RetryPolicy",
    "UninstallSummary",
    "WaitSettings",
    "apply_bundle",
    "apply_steps",
    "builtin_kind",
    "container_waiting",
    "crd_instances",
    "failing_pod",
    "failure_remedy",
    "holder_identity",
    "installed_platform",
    "installed_release",
    "installs",
    "inventory_workloads",
    "keep_values",
    "last_event",
    "namespace_claims",
    "namespace_pending",
    "newest_event",
    "node_coming",
    "plan_bundle",
    "pod_failure",
    "prune_bundle",
    "read_inventory",
    "recorded_workloads",
    "rollout_restart",
    "uninstall",
    "wait_for",
    "wait_for_workloads",
    "workload_failure",
    "write_guarded",
]
