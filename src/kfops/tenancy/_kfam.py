"""Contributors exactly as Kubeflow's access-management service (KFAM) writes them.

The central dashboard lists a namespace's contributors from RoleBindings that
carry the annotations `user` and `role`, and Istio lets a contributor's
requests in through an AuthorizationPolicy of the same name. KFAM's
`getBindingName` makes that name: the subject kind, the e-mail with every run
of non-alphanumerics as "-", the role-ref kind and the role, joined by "-",
lower-cased (kubeflow/dashboard components/access-management/kfam/bindings.go).
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

USER_ANNOTATION = "user"
ROLE_ANNOTATION = "role"
CLUSTER_ROLES = {"edit": "kubeflow-edit", "view": "kubeflow-view", "admin": "kubeflow-admin"}
USERID_HEADER = "kubeflow-userid"
"""The header the gateway sets from the login (the release's userid-header)."""
PRINCIPALS = (
    "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
    "cluster.local/ns/kubeflow/sa/ml-pipeline-ui",
)
"""KFAM's defaults: the ingress gateway and the pipelines UI (which forwards the header)."""
_RUNS = re.compile(r"[^a-zA-Z0-9]+")


def binding_name(email: str, role: str) -> str:
    """`user-<email with non-alphanumerics as ->-clusterrole-<role>`, as KFAM names it."""
    raw = "-".join(["User", urllib.parse.quote_plus(_RUNS.sub("-", email)), "ClusterRole",
                    role]).lower()
    return _RUNS.sub("-", raw)


def contributor_objects(namespace: str, email: str, role: str) -> list[dict[str, Any]]:
    """The RoleBinding and AuthorizationPolicy that make `email` a contributor."""
    name = binding_name(email, role)
    annotations = {USER_ANNOTATION: email, ROLE_ANNOTATION: role}
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": name, "namespace": namespace, "annotations": dict(annotations)},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": CLUSTER_ROLES[role]},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                       "name": email}]},
        {"apiVersion": "security.istio.io/v1beta1", "kind": "AuthorizationPolicy",
         "metadata": {"name": name, "namespace": namespace, "annotations": dict(annotations)},
         "spec": {"rules": [{
             "from": [{"source": {"principals": list(PRINCIPALS)}}],
             "when": [{"key": f"request.headers[{USERID_HEADER}]", "values": [email]}],
         }]}},
    ]


def contributors_in(objects: list[dict[str, Any]]) -> dict[str, str]:
    """e-mail -> role of the KFAM RoleBindings among `objects`."""
    found = {}
    for obj in objects:
        annotations = obj["metadata"].get("annotations") or {}
        if obj.get("kind") == "RoleBinding" and USER_ANNOTATION in annotations and \
                ROLE_ANNOTATION in annotations:
            found[str(annotations[USER_ANNOTATION])] = str(annotations[ROLE_ANNOTATION])
    return found
