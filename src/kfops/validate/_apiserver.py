"""What the API server refuses in built-in objects beyond their OpenAPI schema.

The schemas kfops validates against give types and required fields, not the
checks of the API server's own validation code: allowed values of enumerated
fields, number ranges, and label syntax. These are the ones Kubeflow's
manifests and platform files touch, each as the Kubernetes API reference
states it; a real kube-apiserver refuses each with 422 Invalid
(tests/realcluster/test_validation.py holds kfops and the server to the same
verdicts).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Problem = tuple[str, str]

# https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
# https://kubernetes.io/docs/concepts/overview/working-with-objects/names/
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PATH_SEGMENT_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
_LABEL_NAME_KINDS = frozenset({"Namespace", "Service"})

# https://kubernetes.io/docs/reference/kubernetes-api/ (each kind's page lists these values)
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_RESTART_POLICIES = ("Always", "Never", "OnFailure")
_ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_VOLUME_MODES = ("Block", "Filesystem")
_UPDATE_STRATEGIES = {"Deployment": ("strategy", ("Recreate", "RollingUpdate")),
                      "StatefulSet": ("updateStrategy", ("OnDelete", "RollingUpdate")),
                      "DaemonSet": ("updateStrategy", ("OnDelete", "RollingUpdate"))}
_POD_SPECS = {"Pod": ("spec",), "Deployment": ("spec", "template", "spec"),
              "ReplicaSet": ("spec", "template", "spec"),
              "StatefulSet": ("spec", "template", "spec"),
              "DaemonSet": ("spec", "template", "spec"), "Job": ("spec", "template", "spec"),
              "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}
_REPLICATED = ("Deployment", "ReplicaSet", "StatefulSet")


def label_problems(obj: dict[str, Any]) -> list[Problem]:
    """Label keys and values the API server refuses (any kind: metadata is validated alike)."""
    problems = list(_labels(obj.get("metadata"), "metadata.labels"))
    template = _at(obj, ("spec", "template", "metadata"))
    problems += _labels(template, "spec.template.metadata.labels")
    return problems


def builtin_problems(obj: dict[str, Any]) -> list[Problem]:
    """Enumerated values and ranges the API server checks in objects of built-in kinds."""
    kind = str(obj.get("kind"))
    problems: list[Problem] = []
    found = obj.get("spec")
    spec: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "Service":
        problems += _one_of(spec.get("type"), _SERVICE_TYPES, "spec.type")
        for i, port in enumerate(_dicts(spec.get("ports"))):
            where = f"spec.ports[{i}]"
            problems += _one_of(port.get("protocol"), _PROTOCOLS, f"{where}.protocol")
            problems += _port(port.get("port"), f"{where}.port")
            if port.get("nodePort") not in (None, 0):
                problems += _port(port.get("nodePort"), f"{where}.nodePort")
    if kind == "PersistentVolumeClaim":
        for i, mode in enumerate(spec.get("accessModes") or []):
            problems += _one_of(mode, _ACCESS_MODES, f"spec.accessModes[{i}]")
        problems += _one_of(spec.get("volumeMode"), _VOLUME_MODES, "spec.volumeMode")
    if kind in _REPLICATED:
        replicas = spec.get("replicas")
        if isinstance(replicas, int) and replicas < 0:
            problems.append(("spec.replicas", f"must be 0 or more, got {replicas}"))
    if kind in _UPDATE_STRATEGIES:
        field, allowed = _UPDATE_STRATEGIES[kind]
        strategy = spec.get(field)
        if isinstance(strategy, dict):
            problems += _one_of(strategy.get("type"), allowed, f"spec.{field}.type")
    if kind in _POD_SPECS:
        problems += _pod_problems(_at(obj, _POD_SPECS[kind]), ".".join(_POD_SPECS[kind]))
    return problems




def name_problems(obj: dict[str, Any], custom: bool) -> list[Problem]:
    """Names the API server would refuse (the rules of apimachinery's name validation)."""
    name = str((obj.get("metadata") or {}).get("name", ""))
    if "$(" in name:
        return [("metadata.name", f"{name!r} is an unresolved kustomize variable")]
    kind = str(obj.get("kind"))
    # custom resources' names are DNS subdomains, as most built-in kinds' are
    if not custom and kind in _PATH_SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return [("metadata.name", f"{name!r} may not be '.', '..' or contain '/' or '%'")]
        return []
    if not custom and kind in _LABEL_NAME_KINDS:
        if len(name) > 63 or not _DNS_LABEL.match(name):
            return [("metadata.name", f"{name!r} is not a DNS label (RFC 1123)")]
        return []
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        return [("metadata.name", f"{name!r} is not a DNS subdomain (RFC 1123)")]
    return []


def _pod_problems(pod: Any, where: str) -> Iterator[Problem]:
    if not isinstance(pod, dict):
        return
    yield from _one_of(pod.get("restartPolicy"), _RESTART_POLICIES, f"{where}.restartPolicy")
    for field in ("initContainers", "containers"):
        for i, container in enumerate(_dicts(pod.get(field))):
            at = f"{where}.{field}[{i}]"
            yield from _one_of(container.get("imagePullPolicy"), _PULL_POLICIES,
                               f"{at}.imagePullPolicy")
            for j, port in enumerate(_dicts(container.get("ports"))):
                yield from _port(port.get("containerPort"), f"{at}.ports[{j}].containerPort")
                yield from _one_of(port.get("protocol"), _PROTOCOLS, f"{at}.ports[{j}].protocol")


def _labels(metadata: Any, where: str) -> Iterator[Problem]:
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if len(name) > 63 or not _LABEL_NAME.match(name) or (
                prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix))):
            yield f"{where}", f"{key!r} is not a valid label key"
        if isinstance(value, str) and (len(value) > 63 or not _LABEL_VALUE.match(value)):
            yield f"{where}.{key}", f"{value!r} is not a valid label value (at most 63 " \
                                    "letters, digits, '-', '_' or '.', starting and ending " \
                                    "with a letter or digit)"


def _one_of(value: Any, allowed: tuple[str, ...], where: str) -> list[Problem]:
    if value is None or not isinstance(value, str) or value in allowed:
        return []
    return [(where, f"unsupported value {value!r}; supported: {', '.join(allowed)}")]


def _port(value: Any, where: str) -> list[Problem]:
    if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= 65535:
        return [(where, f"must be between 1 and 65535, got {value}")]
    return []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _at(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj
