"""doctor's `certificates` and `acme-http01` rules on a copy of the real 26.03 local install."""

from __future__ import annotations

from typing import Any

import pytest

from kfops.health._gateway_rules import _path_matches
from tests.health.conftest import Site

CERT_MANAGER = "cert-manager.io/v1"
SECURITY = "security.istio.io/v1"
POLICIES = ("istio-ingressgateway-oauth2-proxy", "istio-ingressgateway-require-jwt")
PROPAGATION = "Waiting for HTTP-01 challenge propagation: wrong status code '403', expected '200'"


def _condition(status: str, reason: str, message: str) -> dict[str, Any]:
    return {"conditions": [{"type": "Ready", "status": status, "reason": reason,
                            "message": message, "lastTransitionTime": "2026-12-01T19:00:00Z"}]}


def _create(site: Site, obj: dict[str, Any], status: dict[str, Any] | None = None) -> None:
    """Create `obj`; `status` is what cert-manager's controllers then report on it."""
    site.cluster.create(obj)
    if status is not None:
        group, _, _ = obj["apiVersion"].rpartition("/")
        plural = obj["kind"].lower() + "s"
        site.emulator.state.report_status(
            (group, plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]),
            status)


def _broken_ca(site: Site, namespace: str, certificate: str, secret: str,
               issuer: dict[str, str]) -> None:
    """A Certificate from an issuer that cannot sign, as cert-manager reports the three."""
    _create(site, {"apiVersion": CERT_MANAGER, "kind": "Certificate",
                   "metadata": {"name": certificate, "namespace": namespace},
                   "spec": {"secretName": secret, "dnsNames": ["kubeflow.example.com"],
                            "issuerRef": issuer}},
            _condition("False", "DoesNotExist", "Issuing certificate as Secret does not exist"))
    _create(site, {"apiVersion": CERT_MANAGER, "kind": "CertificateRequest",
                   "metadata": {"name": f"{certificate}-1", "namespace": namespace,
                                "annotations": {"cert-manager.io/certificate-name": certificate,
                                                "cert-manager.io/certificate-revision": "1"}},
                   "spec": {"request": "LS0tLS1CRUdJTi==", "issuerRef": issuer}},
            _condition("False", "Pending",
                       "Referenced issuer does not have a Ready status condition"))


def test_the_healthy_install_finds_nothing(site: Site) -> None:
    report = site.doctor()

    assert report.not_run == []
    assert report.findings == []
    assert {"certificates", "dex-config", "secure-cookies", "acme-http01"} <= {
        r.rule for r in report.results}


def test_a_certificate_not_ready_shows_its_issuers_message(site: Site) -> None:
    _create(site, {"apiVersion": CERT_MANAGER, "kind": "Issuer",
                   "metadata": {"name": "kubeflow-ca", "namespace": "kubeflow"},
                   "spec": {"ca": {"secretName": "kubeflow-ca-key-pair"}}},
            _condition("False", "ErrGetKeyPair", 'Error getting keypair for CA issuer: '
                                                 'secrets "kubeflow-ca-key-pair" not found'))
    _broken_ca(site, "kubeflow", "notebooks-tls", "notebooks-tls",
               {"name": "kubeflow-ca", "kind": "Issuer"})

    [finding] = site.doctor("certificates").findings

    assert finding.severity == "failure"
    assert finding.summary == "Certificate kubeflow/notebooks-tls is not Ready"
    assert finding.evidence == (
        "Certificate kubeflow/notebooks-tls: Ready=False DoesNotExist: Issuing certificate as "
        "Secret does not exist",
        'Issuer kubeflow/kubeflow-ca: Ready=False ErrGetKeyPair: Error getting keypair for CA '
        'issuer: secrets "kubeflow-ca-key-pair" not found',
        "CertificateRequest kubeflow/notebooks-tls-1: Ready=False Pending: Referenced issuer "
        "does not have a Ready status condition",
    )
    assert finding.fix.startswith(
        "kubectl -n kubeflow describe certificaterequest notebooks-tls-1; ")


def test_the_gateways_certificate_names_spec_tls(site: Site) -> None:
    site.cluster.merge_patch("networking.istio.io/v1", "Gateway", "kubeflow-gateway", {
        "spec": {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                              "hosts": ["*"],
                              "tls": {"mode": "SIMPLE", "credentialName": "kubeflow-tls"}}]}},
        "kubeflow")
    _broken_ca(site, "istio-system", "kubeflow-tls", "kubeflow-tls",
               {"name": "kfops-acme", "kind": "ClusterIssuer", "group": "cert-manager.io"})

    [finding] = site.doctor("certificates").findings

    assert finding.evidence[1] == ('ClusterIssuer kfops-acme does not exist '
                                   '(Referenced "ClusterIssuer" not found)')
    assert "spec.tls in platform.yaml" in finding.fix
    assert finding.fix.endswith("run kfops apply -f platform.yaml")


def test_ready_certificates_are_not_reported(site: Site) -> None:
    site.emulator.state.report_status(
        ("cert-manager.io", "certificates", "kubeflow", "katib-webhook-cert"),
        _condition("True", "Ready", "Certificate is up to date and has not expired"))

    assert site.doctor("certificates").findings == []


def _acme_issuer(site: Site, solver: dict[str, Any]) -> None:
    _create(site, {"apiVersion": CERT_MANAGER, "kind": "ClusterIssuer",
                   "metadata": {"name": "kfops-acme"},
                   "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory",
                                     "email": "admin@example.com",
                                     "privateKeySecretRef": {"name": "kfops-acme-account"},
                                     "solvers": [solver]}}},
            _condition("True", "ACMEAccountRegistered",
                       "The ACME account was registered with the ACME server"))


def test_an_http01_challenge_the_gateway_blocks(site: Site) -> None:
    _acme_issuer(site, {"http01": {"ingress": {"class": "istio"}}})
    _create(site, {"apiVersion": "acme.cert-manager.io/v1", "kind": "Challenge",
                   "metadata": {"name": "kubeflow-tls-1-2837465-1", "namespace": "istio-system"},
                   "spec": {"type": "HTTP-01", "dnsName": "kubeflow.example.com",
                            "token": "tok", "key": "tok.key", "url": "https://acme/chall/1",
                            "authorizationURL": "https://acme/authz/1",
                            "issuerRef": {"name": "kfops-acme", "kind": "ClusterIssuer",
                                          "group": "cert-manager.io"},
                            "solver": {"http01": {"ingress": {"class": "istio"}}}}},
            {"state": "pending", "processing": True, "presented": True, "reason": PROPAGATION})

    [finding] = site.doctor("acme-http01").findings

    assert finding.severity == "failure"
    assert finding.summary == ("Let's Encrypt's HTTP-01 challenge is blocked by the gateway's "
                               "authorization policy")
    assert finding.evidence == (
        "ClusterIssuer kfops-acme solves HTTP-01 challenges through the Istio ingress gateway",
        "AuthorizationPolicy istio-system/istio-ingressgateway-oauth2-proxy (CUSTOM): rule 1 "
        "applies to /.well-known/acme-challenge/kfops-doctor-token (notPaths: /dex/*, "
        "/dex/**, /oauth2/*)",
        "AuthorizationPolicy istio-system/istio-ingressgateway-require-jwt (DENY): rule 1 "
        "applies to /.well-known/acme-challenge/kfops-doctor-token (notPaths: /dex/*, "
        "/dex/**, /oauth2/*)",
        f"Challenge istio-system/kubeflow-tls-1-2837465-1 for kubeflow.example.com: pending: "
        f"{PROPAGATION}",
    )
    assert "spec.tls.acme.solver: http01" in finding.fix
    assert "kfops apply -f platform.yaml" in finding.fix


def test_challenge_paths_excluded_from_both_policies_pass(site: Site) -> None:
    _acme_issuer(site, {"http01": {"ingress": {"class": "istio"}}})
    for name in POLICIES:
        policy = site.cluster.get(SECURITY, "AuthorizationPolicy", name, "istio-system")
        assert policy is not None
        rules = policy["spec"]["rules"]
        for rule in rules:
            rule["to"][0]["operation"]["notPaths"].append("/.well-known/acme-challenge/*")
        site.cluster.merge_patch(SECURITY, "AuthorizationPolicy", name, {"spec": {"rules": rules}},
                                 "istio-system")

    assert site.doctor("acme-http01").findings == []


def test_a_dns01_issuer_needs_no_exemption(site: Site) -> None:
    _acme_issuer(site, {"dns01": {"cloudflare": {"apiTokenSecretRef": {
        "name": "kfops-acme-dns01", "key": "apiToken"}}}})

    assert site.doctor("acme-http01").findings == []


@pytest.mark.parametrize(("pattern", "matches"), [
    ("/.well-known/acme-challenge/*", True),
    ("/.well-known/*", True),
    ("*", True),
    ("*-token", True),
    ("/.well-known/{*}/{**}", True),
    ("/dex/*", False),
    ("/dex/**", False),
    ("/.well-known/acme-challenge/", False),
])
def test_istio_path_patterns(pattern: str, matches: bool) -> None:
    assert _path_matches(pattern, "/.well-known/acme-challenge/kfops-doctor-token") is matches
