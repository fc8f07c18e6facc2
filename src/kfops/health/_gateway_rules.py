"""Rules about HTTPS at the gateway: cert-manager's Certificates and issuers, and whether
Let's Encrypt's HTTP-01 challenges get past the gateway's authorization policies."""

from __future__ import annotations

import re
from typing import Any

from kfops.objects import describe

from ._facts import InstallFacts
from ._findings import Finding
from ._scope import APPLY
from ._snapshot import Snapshot

CERT_MANAGER = "cert-manager.io/v1"
ACME = "acme.cert-manager.io/v1"
ISSUER_KINDS = ("Issuer", "ClusterIssuer")
SECURITY = "security.istio.io/v1"
GATEWAY = "networking.istio.io/v1"
INGRESS = "networking.k8s.io/v1"
ISTIO_CLASS = "istio"
"""The ingress class Istio's Kubernetes Ingress support serves (on by default)."""
ISTIO_CONTROLLER = "istio.io/ingress-controller"
DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"
CHALLENGE_PATH = "/.well-known/acme-challenge/"
"""Where an ACME server fetches an HTTP-01 key authorization (RFC 8555, section 8.3)."""
SAMPLE_CHALLENGE = CHALLENGE_PATH + "kfops-doctor-token"
CERTIFICATE_NAME = "cert-manager.io/certificate-name"
"""The annotation naming a CertificateRequest's Certificate."""


def certificates_not_ready(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """cert-manager Certificates whose Ready condition is not True, with their issuer's."""
    findings = []
    for certificate in snapshot.list(CERT_MANAGER, "Certificate"):
        ready = _condition(certificate, "Ready")
        # No Ready condition: cert-manager has not looked at it yet. Then cert-manager itself
        # is not running, which workload-unavailable reports with its pods' reasons.
        if ready is None or ready.get("status") == "True":
            continue
        findings.append(_certificate_finding(snapshot, facts, certificate, ready))
    return findings


def _certificate_finding(snapshot: Snapshot, facts: InstallFacts, certificate: dict[str, Any],
                         ready: dict[str, Any]) -> Finding:
    metadata = certificate["metadata"]
    namespace, name = str(metadata.get("namespace")), str(metadata["name"])
    evidence = [f"{describe(certificate)}: {_said(ready)}"]
    evidence += _issuer_evidence(snapshot, certificate)
    # Listed only when a Certificate is not Ready: a healthy run makes no such request.
    request = _latest_request(snapshot.list(CERT_MANAGER, "CertificateRequest"), namespace, name)
    if request is not None:
        said = _condition(request, "Ready")
        evidence.append(f"{describe(request)}: "
                        f"{_said(said) if said else 'no Ready condition yet'}")
    look = (f"kubectl -n {namespace} describe certificaterequest "
            f"{request['metadata']['name']}" if request is not None
            else f"kubectl -n {namespace} describe certificate {name}")
    fix = (f"{look}; the gateway's certificate comes from spec.tls in platform.yaml (mode, "
           f"acme.email, acme.server, acme.solver or ipAddresses): correct it and run {APPLY}"
           if _serves_gateway(snapshot, facts, certificate) else
           f"{look}; fix what the issuer reports (its secret, its ACME account or solver), "
           "then cert-manager retries on its own")
    return Finding("certificates", "failure", f"Certificate {namespace}/{name} is not Ready",
                   tuple(evidence), fix)


def _serves_gateway(snapshot: Snapshot, facts: InstallFacts,
                    certificate: dict[str, Any]) -> bool:
    """Whether the gateway serves HTTPS with this Certificate's Secret (kfops's spec.tls)."""
    if certificate["metadata"].get("namespace") != facts.settings.gateway_namespace:
        return False
    secret = (certificate.get("spec") or {}).get("secretName")
    ref = facts.settings.gateway
    gateway = snapshot.find(GATEWAY, ref.kind, ref.name, ref.namespace) or {}
    return any(((server.get("tls") or {}).get("credentialName")) == secret
               for server in (gateway.get("spec") or {}).get("servers") or [])


def _issuer_evidence(snapshot: Snapshot, certificate: dict[str, Any]) -> list[str]:
    namespace = str(certificate["metadata"].get("namespace"))
    ref = (certificate.get("spec") or {}).get("issuerRef") or {}
    kind, name = str(ref.get("kind") or "Issuer"), str(ref.get("name"))
    if str(ref.get("group") or "cert-manager.io") != "cert-manager.io" or kind not in ISSUER_KINDS:
        return [f"issued by {kind} {name} of the external issuer group {ref.get('group')}"]
    issuer = snapshot.find(CERT_MANAGER, kind, name, namespace if kind == "Issuer" else None)
    where = f"{namespace}/{name}" if kind == "Issuer" else name
    if issuer is None:
        # cert-manager's CertificateRequest then says: Referenced "Issuer" not found.
        return [f"{kind} {where} does not exist (Referenced \"{kind}\" not found)"]
    said = _condition(issuer, "Ready")
    return [f"{kind} {where}: {_said(said) if said else 'no Ready condition yet'}"]


def _latest_request(requests: list[dict[str, Any]], namespace: str,
                    certificate: str) -> dict[str, Any] | None:
    mine = [r for r in requests
            if r["metadata"].get("namespace") == namespace
            and (r["metadata"].get("annotations") or {}).get(CERTIFICATE_NAME) == certificate]
    return max(mine, key=_revision, default=None)


def _revision(request: dict[str, Any]) -> int:
    value = (request["metadata"].get("annotations") or {}).get(
        "cert-manager.io/certificate-revision", "0")
    return int(value) if str(value).isdigit() else 0


def acme_http01_blocked(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """ACME issuers solving HTTP-01 through the Istio gateway, whose auth policies still
    send `/.well-known/acme-challenge/...` to login (CUSTOM) or refuse it (DENY)."""
    issuers = [i for kind in ISSUER_KINDS for i in snapshot.list(CERT_MANAGER, kind)
               if _solves_http01_at_gateway(snapshot, i)]
    if not issuers:
        return []
    blocking = [line for ref in facts.settings.auth_policies
                for line in _blocking_rules(snapshot, ref.name, ref.namespace)]
    if not blocking:
        return []
    evidence = [f"{describe(i)} solves HTTP-01 challenges through the Istio ingress gateway"
                for i in issuers]
    evidence += blocking
    evidence += _pending_challenges(snapshot, issuers)
    fix = (f"with spec.tls.mode: acme set spec.tls.acme.solver: http01 in platform.yaml and run "
           f"{APPLY}: kfops adds {CHALLENGE_PATH}* to both policies' notPaths (or use "
           "spec.tls.acme.solver: dns01 when the host is not reachable from the internet)")
    return [Finding("acme-http01", "failure",
                    "Let's Encrypt's HTTP-01 challenge is blocked by the gateway's "
                    "authorization policy", tuple(evidence), fix)]


def _solves_http01_at_gateway(snapshot: Snapshot, issuer: dict[str, Any]) -> bool:
    acme = (issuer.get("spec") or {}).get("acme") or {}
    for solver in acme.get("solvers") or []:
        ingress = (solver.get("http01") or {}).get("ingress")
        if ingress is None:
            continue  # DNS-01, or a Gateway API route (not through the Istio Ingress)
        if ingress.get("name"):
            continue  # edits an existing Ingress in place: its controller routes the path
        chosen = ingress.get("ingressClassName") or ingress.get("class")
        # Without a class the cluster's default IngressClass serves the solver's Ingress
        # (https://cert-manager.io/docs/configuration/acme/http01/#ingressclassname).
        if chosen == ISTIO_CLASS or (chosen is None and _istio_is_default(snapshot)):
            return True
    return False


def _istio_is_default(snapshot: Snapshot) -> bool:
    return any((c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
               and (c.get("spec") or {}).get("controller") == ISTIO_CONTROLLER
               for c in snapshot.list(INGRESS, "IngressClass"))


def _blocking_rules(snapshot: Snapshot, name: str, namespace: str | None) -> list[str]:
    """Why a challenge request matches the policy (CUSTOM: sent to oauth2-proxy's login;
    DENY: refused with 403 "RBAC: access denied")."""
    policy = snapshot.find(SECURITY, "AuthorizationPolicy", name, namespace)
    if policy is None:
        return []
    spec = policy.get("spec") or {}
    lines = []
    for index, rule in enumerate(spec.get("rules") or []):
        operation = next((t.get("operation") or {} for t in rule.get("to") or []
                          if _operation_matches(t.get("operation") or {})), None)
        if rule.get("to") and operation is None:
            continue
        excluded = ", ".join((operation or {}).get("notPaths") or []) or "none"
        lines.append(f"{describe(policy)} ({spec.get('action', 'ALLOW')}): rule {index + 1} "
                     f"applies to {SAMPLE_CHALLENGE} (notPaths: {excluded})")
    return lines


def _operation_matches(operation: dict[str, Any]) -> bool:
    """Whether an Istio operation matches an ACME server's GET of a challenge path
    (https://istio.io/latest/docs/reference/config/security/authorization-policy/#Operation)."""
    methods, not_methods = operation.get("methods"), operation.get("notMethods") or []
    if (methods and "GET" not in methods) or "GET" in not_methods:
        return False
    paths = operation.get("paths")
    if paths and not any(_path_matches(p, SAMPLE_CHALLENGE) for p in paths):
        return False
    return not any(_path_matches(p, SAMPLE_CHALLENGE) for p in operation.get("notPaths") or [])


def _path_matches(pattern: str, path: str) -> bool:
    """Istio's path match: exact, prefix (`/a/*`), suffix (`*.js`), any (`*`), or a template
    with `{*}` (one segment) and `{**}` (any rest)."""
    if pattern == "*":
        return True
    if "{*}" in pattern or "{**}" in pattern:
        expression = re.escape(pattern).replace(r"\{\*\*\}", ".*").replace(r"\{\*\}", "[^/]+")
        return re.fullmatch(expression, path) is not None
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return path.endswith(pattern[1:])
    return pattern == path


def _pending_challenges(snapshot: Snapshot, issuers: list[dict[str, Any]]) -> list[str]:
    names = {(str(i.get("kind")), str(i["metadata"]["name"])) for i in issuers}
    lines = []
    for challenge in snapshot.list(ACME, "Challenge"):
        spec, status = challenge.get("spec") or {}, challenge.get("status") or {}
        ref = spec.get("issuerRef") or {}
        if (str(ref.get("kind") or "Issuer"), str(ref.get("name"))) not in names or \
                spec.get("type") != "HTTP-01" or status.get("state") == "valid":
            continue
        reason = status.get("reason") or "no reason reported yet"
        lines.append(f"{describe(challenge)} for {spec.get('dnsName')}: "
                     f"{status.get('state') or 'pending'}: {reason}")
    return lines


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c.get("type") == kind), None)


def _said(condition: dict[str, Any]) -> str:
    return (f"Ready={condition.get('status')} {condition.get('reason') or ''}: "
            f"{condition.get('message') or ''}").replace(" :", ":").strip()


def browser_scheme(snapshot: Snapshot, facts: InstallFacts) -> tuple[bool, str]:
    """(whether browsers reach the platform over HTTPS, how doctor knows it)."""
    if facts.https is not None:
        mode = "HTTPS (spec.tls.mode is set)" if facts.https else \
            "plain HTTP (spec.tls.mode: none)"
        return facts.https, f"the platform file says browsers use {mode}"
    ref = facts.settings.gateway
    gateway = snapshot.find(GATEWAY, ref.kind, ref.name, ref.namespace) or {}
    for server in (gateway.get("spec") or {}).get("servers") or []:
        if str((server.get("port") or {}).get("protocol", "")).upper() == "HTTPS":
            return True, (f"{ref.kind} {ref.namespace}/{ref.name} serves HTTPS on port "
                          f"{server['port'].get('number')}")
    for ingress in snapshot.list(INGRESS, "Ingress"):
        if (ingress.get("spec") or {}).get("tls") and _routes_to_gateway(ingress, facts):
            return True, f"{describe(ingress)} terminates TLS in front of the gateway"
    return False, (f"{ref.kind} {ref.namespace}/{ref.name} has no HTTPS server and no Ingress "
                   "terminates TLS in front of it: browsers use plain HTTP")


def _routes_to_gateway(ingress: dict[str, Any], facts: InstallFacts) -> bool:
    service = facts.settings.gateway_service
    if ingress["metadata"].get("namespace") != service.namespace:
        return False
    backends = [path.get("backend") or {} for rule in (ingress.get("spec") or {}).get("rules") or []
                for path in (rule.get("http") or {}).get("paths") or []]
    backends.append((ingress.get("spec") or {}).get("defaultBackend") or {})
    return any((b.get("service") or {}).get("name") == service.name for b in backends)
