"""HTTPS for `ingress.host` (`spec.tls`): certificates from cert-manager, the gateway's 443 server.

HTTP-01 challenges reach cert-manager's solver through Istio's Kubernetes
Ingress support (class `istio`, on by default in Istio's mesh config). The
gateway's plain-HTTP server redirects to HTTPS only for `hosts: ["*"]`, so
the solver's route for the real host name is not redirected, and the path
`/.well-known/acme-challenge/` is exempted from both gateway policies
(oauth2-proxy's CUSTOM one and the require-JWT DENY one).
"""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

from kfops.catalog import ObjectRef
from kfops.config import ACME_SERVERS, TLS, SecretRef
from kfops.render import EditableBundle, Phase, RenderContext
from kfops.secrets import resolve

ACME_ISSUER = "kfops-acme"
ACME_ACCOUNT_KEY = "kfops-acme-account"
DNS01_SECRET = "kfops-acme-dns01"
CERTIFICATE = "kubeflow-tls"
CHALLENGE_PATH = "/.well-known/acme-challenge/*"


class Https:
    """Issue the certificate and serve HTTPS on the Istio gateway."""

    name = "tls"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Add issuer and Certificate, the gateway's 443 server, the challenge exemptions."""
        spec = context.loaded.platform.spec
        tls = spec.tls
        if tls.mode == "none":
            return
        settings = context.catalog.settings
        host = spec.ingress.host
        assert host is not None  # the config refuses tls without ingress.host
        if tls.mode == "acme":
            self._acme_issuer(context, bundle)
        if tls.mode in ("acme", "selfSigned"):
            issuer = ACME_ISSUER if tls.mode == "acme" else settings.self_signed_issuer
            bundle.add(_certificate(host, tls, issuer, settings.gateway_namespace), "tls",
                       f"spec.tls.mode: {tls.mode}")
        if spec.ingress.ingress_class is None:
            _serve_https(bundle, settings.gateway, tls.secret_name)
            if tls.mode == "acme" and tls.acme and tls.acme.solver == "http01":
                for policy in settings.auth_policies:
                    _let_challenges_through(bundle, policy)

    def _acme_issuer(self, context: RenderContext, bundle: EditableBundle) -> None:
        spec = context.loaded.platform.spec
        acme = spec.tls.acme
        assert acme is not None  # the config requires it for mode acme
        namespace = context.catalog.settings.cert_manager_namespace
        if acme.solver == "http01":
            ingress = ({"ingressClassName": spec.ingress.ingress_class}
                       if spec.ingress.ingress_class else {"class": "istio"})
            solver: dict[str, Any] = {"http01": {"ingress": ingress}}
        else:
            provider, secret_data = _with_secret_refs(acme.dns01, context)
            solver = {"dns01": provider}
            if secret_data:
                bundle.add({
                    "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": DNS01_SECRET, "namespace": namespace},
                    "data": secret_data,
                }, "tls", "spec.tls.acme.dns01")
        bundle.add({
            "apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
            "metadata": {"name": ACME_ISSUER},
            "spec": {"acme": {
                "server": ACME_SERVERS.get(acme.server, acme.server),
                "email": acme.email,
                "privateKeySecretRef": {"name": ACME_ACCOUNT_KEY},
                "solvers": [solver],
            }},
        }, "tls", "spec.tls.mode: acme")


def _certificate(host: str, tls: TLS, issuer: str, namespace: str) -> dict[str, Any]:
    names: dict[str, list[str]] = {"dnsNames": [], "ipAddresses": list(tls.ip_addresses)}
    try:
        ipaddress.ip_address(host)
        names["ipAddresses"].insert(0, host)
    except ValueError:
        names["dnsNames"].append(host)
    spec: dict[str, Any] = {
        "secretName": tls.secret_name,
        "issuerRef": {"name": issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
        **{key: value for key, value in names.items() if value},
    }
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": CERTIFICATE, "namespace": namespace}, "spec": spec}


def _serve_https(bundle: EditableBundle, gateway: ObjectRef, credential: str) -> None:
    obj = bundle.edit(bundle.require(gateway.kind, gateway.name, gateway.namespace))
    servers = obj["spec"]["servers"]
    for server in servers:
        if server["port"]["number"] == 80:
            # Only the "*" server redirects: a solver route for the real host stays plain HTTP.
            server["hosts"] = ["*"]
            server["tls"] = {"httpsRedirect": True}
    servers.append({
        "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
        "hosts": ["*"],
        "tls": {"mode": "SIMPLE", "credentialName": credential},
    })


def _let_challenges_through(bundle: EditableBundle, policy: ObjectRef) -> None:
    obj = bundle.edit(bundle.require(policy.kind, policy.name, policy.namespace))
    for rule in obj["spec"].get("rules") or []:
        for target in rule.get("to") or []:
            paths = target["operation"].setdefault("notPaths", [])
            if CHALLENGE_PATH not in paths:
                paths.append(CHALLENGE_PATH)


def _with_secret_refs(
    config: dict[str, Any], context: RenderContext
) -> tuple[dict[str, Any], dict[str, str]]:
    """The DNS-01 config with every `{env}`/`{file}` value moved into a Secret.

    cert-manager names a secret field `<field>SecretRef` (apiTokenSecretRef,
    clientSecretSecretRef, tsigSecretSecretRef, ...), so `apiToken: {env: X}`
    becomes `apiTokenSecretRef: {name: kfops-acme-dns01, key: apiToken}`.
    """
    data: dict[str, str] = {}

    def convert(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        result: dict[str, Any] = {}
        for key, value in node.items():
            if isinstance(value, dict) and set(value) in ({"env"}, {"file"}):
                secret = resolve(SecretRef.model_validate(value), context.loaded, context.state,
                                 f"acme-dns01-{key}")
                data[key] = base64.b64encode(secret.encode()).decode()
                result[f"{key}SecretRef"] = {"name": DNS01_SECRET, "key": key}
            else:
                result[key] = convert(value)
        return result

    return convert(config), data
