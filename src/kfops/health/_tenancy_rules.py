"""Rules about Profiles (a namespace per team or person) and their quotas."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from kfops.cluster import PRUNE_RULE
from kfops.config import parse_quantity

from ._facts import InstallFacts
from ._findings import Finding, Severity
from ._scope import EXAMPLES, failing_pod_of
from ._snapshot import PROFILE_API, Snapshot, parse_time
from ._status import judge_workload

#: The profile controller as kubeflow/manifests deploys it (applications/profiles/upstream/
#: manager/manager.yaml, namePrefix `profiles-`, namespace kubeflow).
PROFILE_CONTROLLER = ("kubeflow", "profiles-deployment")
PROFILE_GRACE = timedelta(minutes=2)
"""How long a running profile controller may take to make a new Profile's namespace."""
QUOTA_WARNING = Decimal("0.9")
"""The share of a quota's hard limit from which doctor warns."""
# The quota admission plugin's refusal, as the ReplicaSet or StatefulSet controller reports it
# in a FailedCreate event: `pods "x" is forbidden: exceeded quota: kf-resource-quota,
# requested: requests.cpu=1, used: requests.cpu=16, limited: requests.cpu=16`
# (https://kubernetes.io/docs/concepts/policy/resource-quotas/#viewing-and-setting-quotas).
EXCEEDED = "exceeded quota"


def profile_namespace(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """Profiles whose namespace never appeared, or belongs to someone else."""
    namespaces = {str(n["metadata"]["name"]): n for n in snapshot.list("v1", "Namespace")}
    findings = []
    for profile in snapshot.list(PROFILE_API, "Profile"):
        metadata = profile["metadata"]
        if metadata.get("deletionTimestamp"):
            continue
        namespace = namespaces.get(str(metadata["name"]))
        if namespace is None:
            finding = _missing_namespace(snapshot, profile)
        else:
            finding = _owner_conflict(profile, namespace)
        if finding is not None:
            findings.append(finding)
    return findings


def _missing_namespace(snapshot: Snapshot, profile: dict[str, Any]) -> Finding | None:
    name, owner = str(profile["metadata"]["name"]), _owner(profile)
    failed = _failed_conditions(profile)
    running, controller = _controller(snapshot)
    created = parse_time(profile["metadata"].get("creationTimestamp"))
    if running and not failed and created is not None and snapshot.now - created < PROFILE_GRACE:
        return None  # the controller is making it: it takes a few seconds
    evidence = [f"Profile {name} (owner {owner}): namespace {name} not found", *failed,
                controller]
    if not running:
        fix = (f"start the profile controller, which makes the namespace: kubectl -n "
               f"{PROFILE_CONTROLLER[0]} describe deployment {PROFILE_CONTROLLER[1]} (kfops "
               "doctor --only workload-unavailable says why it is down; kfops apply -f "
               "platform.yaml restores it)")
    else:
        fix = (f"see why the profile controller does not make it: kubectl -n "
               f"{PROFILE_CONTROLLER[0]} logs deployment/{PROFILE_CONTROLLER[1]} -c manager")
    return Finding("profile-namespace", "failure",
                   f"Profile {name}'s namespace was never made", tuple(evidence), fix)


def _owner_conflict(profile: dict[str, Any], namespace: dict[str, Any]) -> Finding | None:
    name, owner = str(profile["metadata"]["name"]), _owner(profile)
    holder = (namespace["metadata"].get("annotations") or {}).get("owner")
    if holder == owner:
        return None
    # The profile controller takes over only a namespace annotated with the Profile's owner;
    # otherwise it stops with a Failed condition (kubeflow/dashboard components/
    # profile-controller/controllers/profile_controller.go, Reconcile): "namespace already
    # exist, but not owned by profile creator <owner>".
    held = f"owned by {holder}" if holder else "without an owner annotation"
    evidence = (f"Profile {name} (owner {owner}): namespace {name} exists, {held}",
                *_failed_conditions(profile))
    # The controller stopped before adding its finalizer or an ownerReference: deleting the
    # stuck Profile leaves the namespace as it is.
    fix = (f"hand the namespace to the profile (if nothing in it belongs to someone else): "
           f"kubectl annotate namespace {name} owner={owner} --overwrite; or give the profile "
           "another name: rename it in spec.profiles[].name in platform.yaml and kfops apply "
           f"-f platform.yaml (or kfops profile create <new-name> --owner {owner} --live), "
           f"then kubectl delete profile {name} (the namespace is not the profile's: it stays)")
    return Finding("profile-namespace", "failure",
                   f"Profile {name} cannot take namespace {name}: it is not owned by the "
                   "profile's owner", evidence, fix)


def _owner(profile: dict[str, Any]) -> str:
    return str(((profile.get("spec") or {}).get("owner") or {}).get("name") or "")


def _failed_conditions(profile: dict[str, Any]) -> list[str]:
    """The controller's Failed conditions, each message once (it appends one per attempt)."""
    said: dict[str, None] = {}
    for condition in (profile.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("message"):
            said[f"condition Failed: {condition['message']}"] = None
    return list(said)


def _controller(snapshot: Snapshot) -> tuple[bool, str]:
    """Whether the profile controller runs, and what its Deployment says."""
    namespace, name = PROFILE_CONTROLLER
    live = snapshot.find("apps/v1", "Deployment", name, namespace)
    failure = None if live is None else failing_pod_of(snapshot, live)
    state, reason = judge_workload("Deployment", live, failure)
    said = "available" if state == "ready" else f"{state}: {reason}"
    return state == "ready", f"profile controller Deployment {namespace}/{name}: {said}"


def quota_exhausted(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """ResourceQuotas of profile namespaces whose use reached (or nears) their hard limit."""
    namespaces = snapshot.profile_namespaces()
    findings = []
    for quota in snapshot.list("v1", "ResourceQuota"):
        if quota["metadata"].get("namespace") in namespaces:
            finding = _judge_quota(snapshot, quota)
            if finding is not None:
                findings.append(finding)
    return findings


def _judge_quota(snapshot: Snapshot, quota: dict[str, Any]) -> Finding | None:
    namespace, name = str(quota["metadata"]["namespace"]), str(quota["metadata"]["name"])
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    full, near = [], []
    for resource in sorted(hard):
        limit, use = parse_quantity(hard[resource]), parse_quantity(used.get(resource, 0))
        if limit is None or use is None or limit == 0:
            continue  # a hard limit of 0 forbids the resource on purpose
        shown = f"{resource} {used.get(resource, 0)}/{hard[resource]}"
        if use >= limit:
            full.append(shown)
        elif use >= limit * QUOTA_WARNING:
            near.append(shown)
    if not full and not near:
        return None
    severity: Severity = "failure" if full else "warning"
    refused = _refusals(snapshot, namespace, name)
    evidence = (f"ResourceQuota {namespace}/{name}: " + ", ".join(full + near), *refused)
    what = "exhausted" if full else f"nearly exhausted (over {QUOTA_WARNING:.0%})"
    return Finding("quota-exhausted", severity,
                   f"ResourceQuota {namespace}/{name} of profile {namespace} is {what}",
                   evidence, _quota_fix(snapshot, namespace))


def _refusals(snapshot: Snapshot, namespace: str, quota: str) -> list[str]:
    """The newest "exceeded quota" events naming this quota (pods the quota refused)."""
    refused = [e for e in snapshot.in_namespace("v1", "Event", namespace)
               if EXCEEDED in str(e.get("message") or "") and quota in str(e.get("message"))]
    refused.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""),
                 reverse=True)
    return [f"{e.get('reason', '')} {(e.get('involvedObject') or {}).get('kind', '')} "
            f"{(e.get('involvedObject') or {}).get('name', '')}: "
            f"{str(e.get('message') or '').strip()}" for e in refused[:EXAMPLES]]


def _quota_fix(snapshot: Snapshot, name: str) -> str:
    profile = snapshot.find(PROFILE_API, "Profile", name)
    annotations = ((profile or {}).get("metadata") or {}).get("annotations") or {}
    if PRUNE_RULE in annotations:  # kfops made it, from spec.profiles
        return (f"raise the profile's quota: spec.profiles[] (name: {name}) quota in "
                "platform.yaml, then kfops apply -f platform.yaml; or free what runs there: "
                f"kubectl -n {name} get pods")
    return (f"raise the profile's quota: kubectl edit profile {name} (spec.resourceQuotaSpec."
            "hard; the profile controller updates the ResourceQuota), or manage it with kfops: "
            f"spec.profiles[].quota in platform.yaml; or free what runs there: kubectl -n {name} "
            "get pods")

