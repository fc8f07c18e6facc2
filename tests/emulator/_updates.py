"""What the API server checks on an update against the old object (fields that may not change),
and the 422 Invalid it answers, worded as kube-apiserver v1.35.4 words it.

Each rule is cited in _state's module docstring; tests/realcluster/test_conformance.py holds
the emulator and the real server to the same messages. Values in messages are printed as
Go's encoding/json prints them (compact, map keys sorted, struct fields in declaration order,
`<`, `>` and `&` escaped), as servers since v1.34 do.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._state import ApiError, Kind


@dataclass(frozen=True)
class FieldError:
    """One entry of a 422's aggregate: the field and what is wrong with it."""

    field: str
    reason: str
    """FieldValueInvalid or FieldValueForbidden (the cause's reason)."""
    detail: str
    """`Invalid value: <value>: <why>` or `Forbidden: <why>`."""


def invalid_value(path: str, value: Any, why: str) -> FieldError:
    return FieldError(path, "FieldValueInvalid", f"Invalid value: {go_json(value)}: {why}")


def forbidden(path: str, why: str) -> FieldError:
    return FieldError(path, "FieldValueForbidden", f"Forbidden: {why}")


def invalid(kind: Kind, name: str, errors: list[FieldError]) -> ApiError:
    """422 Invalid as apierrors.NewInvalid words it: `Kind.group "name" is invalid: ...`."""
    from ._state import ApiError  # noqa: PLC0415 - _state imports this module

    qualified = f"{kind.kind}.{kind.group}" if kind.group else kind.kind
    listed = [f"{e.field}: {e.detail}" for e in errors]
    aggregate = listed[0] if len(listed) == 1 else f"[{', '.join(listed)}]"
    details: dict[str, Any] = {"name": name, **({"group": kind.group} if kind.group else {}),
                               "kind": kind.kind, "causes": [
                                   {"reason": e.reason, "message": e.detail, "field": e.field}
                                   for e in errors]}
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {aggregate}', details)


def go_json(value: Any) -> str:
    """`value` as Go's json.Marshal prints it (the caller orders struct fields)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def update_errors(kind: Kind, old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    """What an update from `old` to `new` (both as stored) may not change, for the built-in
    kinds whose registry strategy checks it (kube-apiserver v1.35.4's ValidateUpdate)."""
    check = _RULES.get((kind.group, kind.plural))
    return check(old, new) if check else []


def _selector(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    """Deployments, ReplicaSets and DaemonSets in apps/v1: the selector is immutable."""
    before, after = _spec(old).get("selector"), _spec(new).get("selector")
    if before == after:
        return []
    return [invalid_value("spec.selector", _label_selector(after), "field is immutable")]


_STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                        "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy",
                        "minReadySeconds")


def _statefulset(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    """Only the fields ValidateStatefulSetUpdate lists may change; anything else in spec is
    one Forbidden for the whole spec."""
    def fixed(obj: dict[str, Any]) -> dict[str, Any]:
        spec = {k: v for k, v in _spec(obj).items() if k not in _STATEFULSET_MUTABLE}
        spec.setdefault("podManagementPolicy", "OrderedReady")  # what the server defaults
        spec["volumeClaimTemplates"] = [_claim_template(t)
                                        for t in spec.get("volumeClaimTemplates") or []]
        return spec

    if fixed(old) == fixed(new):
        return []
    return [forbidden("spec", "updates to statefulset spec for fields other than 'replicas', "
                              "'ordinals', 'template', 'updateStrategy', "
                              "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' "
                              "and 'minReadySeconds' are forbidden")]


def _claim_template(template: dict[str, Any]) -> dict[str, Any]:
    """A volume claim template as compared: what the server fills in left out."""
    spec = {"volumeMode": "Filesystem", **(template.get("spec") or {})}
    return {"metadata": template.get("metadata") or {}, "spec": spec}


def _job(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    """ValidateJobSpecUpdate: selector, template and completions are immutable."""
    errors = []
    before, after = _spec(old), _spec(new)
    if "selector" in before and before.get("selector") != after.get("selector"):
        errors.append(invalid_value("spec.selector", _label_selector(after.get("selector")),
                                    "field is immutable"))
    if before.get("template") != after.get("template"):
        # The real server prints its internal Go type here (field names capitalised, every
        # field listed); the emulator prints the template as sent. Tests match the ends.
        errors.append(invalid_value("spec.template", after.get("template"),
                                    "field is immutable"))
    if before.get("completions", 1) != after.get("completions", 1):
        errors.append(invalid_value("spec.completions", after.get("completions"),
                                    "field is immutable"))
    return errors


def _role_ref(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    """RoleBindings and ClusterRoleBindings: "cannot change roleRef" (the value printed as the
    internal Go type, whose fields have no JSON names)."""
    before, after = old.get("roleRef") or {}, new.get("roleRef") or {}
    if before == after:
        return []
    value = {"APIGroup": after.get("apiGroup", ""), "Kind": after.get("kind", ""),
             "Name": after.get("name", "")}
    return [invalid_value("roleRef", value, "cannot change roleRef")]


def _claim(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    """ValidatePersistentVolumeClaimUpdate: the spec is immutable but for
    `volumeAttributesClassName` and, once the claim is Bound, `resources.requests`."""
    bound = ((old.get("status") or {}).get("phase")) == "Bound"

    def fixed(obj: dict[str, Any]) -> dict[str, Any]:
        spec: dict[str, Any] = json.loads(json.dumps(_spec(obj)))
        spec.pop("volumeAttributesClassName", None)
        spec.setdefault("volumeMode", "Filesystem")
        if bound:
            (spec.get("resources") or {}).pop("requests", None)
        return spec

    before, after = fixed(old), fixed(new)
    if before == after:
        return []
    # The real server follows the first line with a diff of its internal Go type; the
    # emulator's diff is of the spec as stored. Tests match the first line.
    diff = "\n".join(difflib.unified_diff(
        json.dumps(before, indent=1, sort_keys=True).splitlines(),
        json.dumps(after, indent=1, sort_keys=True).splitlines(), lineterm="", n=2))
    diff = diff.split("\n", 2)[2] if diff.count("\n") >= 2 else diff  # no ---/+++ header
    return [forbidden("spec", "spec is immutable after creation except resources.requests and "
                              f"volumeAttributesClassName for bound claims\n{diff}\n")]


def _immutable_data(fields: tuple[str, ...]) -> Any:
    """ConfigMaps and Secrets marked `immutable: true`: the flag and the data stay."""
    def check(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
        errors = []
        if old.get("kind") == "Secret" and old.get("type", "Opaque") != new.get("type",
                                                                                   "Opaque"):
            errors.append(invalid_value("type", new.get("type"), "field is immutable"))
        if old.get("immutable") is not True:
            return errors
        why = "field is immutable when `immutable` is set"
        if new.get("immutable") is not True:
            errors.append(forbidden("immutable", why))
        errors += [forbidden(name, why) for name in fields if old.get(name) != new.get(name)]
        return errors

    return check


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj.get("spec") or {}
    return spec


def _label_selector(selector: dict[str, Any] | None) -> dict[str, Any] | None:
    """A LabelSelector in its Go struct's field order (matchLabels, then matchExpressions)."""
    if selector is None:
        return None
    ordered: dict[str, Any] = {}
    if selector.get("matchLabels"):
        ordered["matchLabels"] = dict(sorted(selector["matchLabels"].items()))
    if selector.get("matchExpressions"):
        ordered["matchExpressions"] = [
            {"key": e.get("key"), "operator": e.get("operator"),
             **({"values": e["values"]} if e.get("values") else {})}
            for e in selector["matchExpressions"]]
    return ordered


_RULES = {
    ("apps", "deployments"): _selector, ("apps", "replicasets"): _selector,
    ("apps", "daemonsets"): _selector, ("apps", "statefulsets"): _statefulset,
    ("batch", "jobs"): _job,
    ("rbac.authorization.k8s.io", "rolebindings"): _role_ref,
    ("rbac.authorization.k8s.io", "clusterrolebindings"): _role_ref,
    ("", "persistentvolumeclaims"): _claim,
    ("", "configmaps"): _immutable_data(("data", "binaryData")),
    ("", "secrets"): _immutable_data(("data",)),
}
