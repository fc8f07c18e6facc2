"""Which admission webhooks intercept which objects (before the objects are sent).

An object a webhook intercepts can only be applied once the webhook's Service
has a ready endpoint (and, for webhooks whose CA cert-manager injects, once the
CA bundle is in place); sent earlier, the API server refuses it. kfops knows
the webhook configurations from the bundle, so it can order and wait instead
of retrying.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kfops.objects import selector_matches

from ._kinds import Kinds

INJECT_ANNOTATIONS = ("cert-manager.io/inject-ca-from", "cert-manager.io/inject-ca-from-secret")


@dataclass(frozen=True)
class Webhook:
    """One webhook of a configuration in the bundle."""

    configuration: tuple[str, str]
    """(kind, name) of its ValidatingWebhookConfiguration or MutatingWebhookConfiguration."""
    name: str
    service: tuple[str, str]
    """(namespace, name) of the Service it calls."""
    rules: tuple[dict[str, Any], ...]
    object_selector: dict[str, Any] | None
    namespace_selector: dict[str, Any] | None
    injected_ca: bool
    """Whether cert-manager injects its CA (the configuration carries an inject annotation)."""


def webhooks_in(objects: Iterable[dict[str, Any]]) -> list[Webhook]:
    """The webhooks (failurePolicy Fail, calling a Service) of every configuration given."""
    found = []
    for obj in objects:
        if obj.get("kind") not in ("ValidatingWebhookConfiguration",
                                   "MutatingWebhookConfiguration"):
            continue
        annotations = obj["metadata"].get("annotations") or {}
        for hook in obj.get("webhooks") or []:
            service = (hook.get("clientConfig") or {}).get("service")
            if not service or hook.get("failurePolicy", "Fail") != "Fail":
                continue
            found.append(Webhook(
                (str(obj["kind"]), str(obj["metadata"]["name"])), str(hook["name"]),
                (str(service["namespace"]), str(service["name"])),
                tuple(hook.get("rules") or ()), hook.get("objectSelector"),
                hook.get("namespaceSelector"),
                any(key in annotations for key in INJECT_ANNOTATIONS),
            ))
    return found


def intercepting(obj: dict[str, Any], webhooks: Iterable[Webhook], kinds: Kinds,
                 namespace_labels: dict[str, dict[str, str]]) -> list[Webhook]:
    """The webhooks that would be called when `obj`, or a pod of its template, is created.

    A workload counts as intercepted when its pods would be: sent before the
    webhook answers (Istio's sidecar injector, say), its pods are refused and
    the controller retries them with a growing backoff.
    """
    hooks = list(webhooks)
    found = _intercepting(obj, hooks, kinds, namespace_labels)
    pod = _template_pod(obj)
    if pod is not None:
        names = {h.name for h in found}
        found += [h for h in _intercepting(pod, hooks, kinds, namespace_labels)
                  if h.name not in names]
    return found


def _template_pod(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod a workload's template makes, as an admission webhook sees it."""
    if obj.get("kind") not in _POD_TEMPLATE_KINDS:
        return None
    template = (obj.get("spec") or {}).get("template") or {}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "namespace": obj["metadata"].get("namespace") or "",
        "labels": dict((template.get("metadata") or {}).get("labels") or {})}}


_POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")


def _intercepting(obj: dict[str, Any], webhooks: Iterable[Webhook], kinds: Kinds,
                  namespace_labels: dict[str, dict[str, str]]) -> list[Webhook]:
    info = kinds.info(str(obj["apiVersion"]), str(obj["kind"]))
    labels = obj["metadata"].get("labels") or {}
    namespace = obj["metadata"].get("namespace") or ""
    result = []
    for hook in webhooks:
        if not any(_rule_matches(rule, info.group, info.version, info.plural)
                   for rule in hook.rules):
            continue
        if not selector_matches(hook.object_selector, labels):
            continue
        if info.namespaced:
            known = {"kubernetes.io/metadata.name": namespace,
                     **namespace_labels.get(namespace, {})}
            if not selector_matches(hook.namespace_selector, known):
                continue
        result.append(hook)
    return result


def _rule_matches(rule: dict[str, Any], group: str, version: str, plural: str) -> bool:
    def has(values: list[str] | None, value: str) -> bool:
        return bool(values) and ("*" in values or "*/*" in values or value in values)  # type: ignore[operator]

    return (has(rule.get("apiGroups"), group) and has(rule.get("apiVersions"), version)
            and has(rule.get("resources"), plural) and has(rule.get("operations"), "CREATE"))


def without_injected_ca(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` without the `caBundle` fields cert-manager's CA injector owns.

    Upstream manifests often carry `caBundle: ""` where the injector writes the
    CA; applying that would take the field over and break the webhook (or CRD
    conversion) until the injector writes it again.
    """
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if not any(key in annotations for key in INJECT_ANNOTATIONS):
        return obj
    if obj.get("kind", "").endswith("WebhookConfiguration"):
        hooks = [{**h, "clientConfig": {k: v for k, v in (h.get("clientConfig") or {}).items()
                                        if k != "caBundle"}}
                 for h in obj.get("webhooks") or []]
        return {**obj, "webhooks": hooks}
    conversion = ((obj.get("spec") or {}).get("conversion") or {}).get("webhook")
    if obj.get("kind") == "CustomResourceDefinition" and conversion:
        config = {k: v for k, v in (conversion.get("clientConfig") or {}).items()
                  if k != "caBundle"}
        spec = {**obj["spec"], "conversion": {**obj["spec"]["conversion"],
                                              "webhook": {**conversion, "clientConfig": config}}}
        return {**obj, "spec": spec}
    return obj
