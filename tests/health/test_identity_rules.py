"""doctor's `dex-config` and `secure-cookies` rules on a copy of the real 26.03 local install."""

from __future__ import annotations

import dataclasses
import re

import yaml

from kfops.health import InstallFacts, Snapshot, chosen_rules, run_doctor
from kfops.health._findings import Finding
from tests.health.conftest import Site

INTERNAL = "http://dex.auth.svc.cluster.local:5556/dex"
PUBLIC = "https://kubeflow.example.com/dex"
DEX_CONFIG_MAP = ("v1", "ConfigMap", "dex")
DEX_CRASH = ("time=2026-12-01T19:00:00Z level=INFO msg=\"Dex Version: v2.41.1\"\n"
             "error parse config file /etc/dex/cfg/config.yaml: error converting YAML to JSON: "
             "yaml: line 24: did not find expected key\n")
NOT_SECRET = "$2y$12$notarealhashbutsecretanyway0000000000000000000000000"


def _doctor(site: Site, facts: InstallFacts, rule: str) -> list[Finding]:
    return run_doctor(Snapshot(site.cluster, facts.namespaces), facts,
                      chosen_rules([rule])).findings


def _dex_config(site: Site) -> str:
    config_map = site.cluster.get(*DEX_CONFIG_MAP, "auth")
    assert config_map is not None
    return str(config_map["data"]["config.yaml"])


def _write_dex_config(site: Site, text: str) -> None:
    site.cluster.merge_patch(*DEX_CONFIG_MAP, {"data": {"config.yaml": text}}, "auth")


def test_a_hand_edited_dex_config_that_does_not_parse(site: Site) -> None:
    # A user added with a one-space slip in its last key, as hand edits go; Dex, restarted,
    # exits with the error its serve command returns (dexidp/dex cmd/dex/serve.go).
    _write_dex_config(site, _dex_config(site) + (
        f'- email: admin@example.com\n  hash: "{NOT_SECRET}"\n username: admin\n'))
    site.emulator.state.settings.failing["auth/dex"] = "CrashLoopBackOff"
    site.emulator.state.settings.logs["auth/dex"] = DEX_CRASH

    [finding] = site.doctor("dex-config").findings

    assert finding.severity == "failure"
    assert finding.summary == "Dex crashes on its config (error parse config file)"
    line = len(_dex_config(site).splitlines())
    assert finding.evidence[0] == (
        f"ConfigMap auth/dex key config.yaml does not parse: line {line}, column 2: "
        "expected <block end>, but found '<block mapping start>'")
    assert finding.evidence[1] == (
        "pod dex-5d8f7c9b4-emu01 (CrashLoopBackOff) logged: " + DEX_CRASH.splitlines()[-1])
    assert NOT_SECRET not in " ".join((*finding.evidence, finding.fix))
    assert finding.fix.startswith("kfops apply -f platform.yaml")
    assert "never hand-edit Dex's ConfigMap" in finding.fix


def test_a_dex_config_without_issuer(site: Site) -> None:
    config = yaml.safe_load(_dex_config(site))
    del config["issuer"]
    _write_dex_config(site, yaml.safe_dump(config))

    [finding] = site.doctor("dex-config").findings

    assert finding.summary == "Dex crashes on its config (invalid Config)"
    assert finding.evidence == (
        "ConfigMap auth/dex key config.yaml has no issuer",
        "Dex cannot start: 'invalid Config: no issuer specified in config file' (its pod "
        "restarts in CrashLoopBackOff or waits)")


def test_an_issuer_that_does_not_match_the_host(site: Site) -> None:
    # platform.yaml now names a host: the install still carries the in-cluster issuer.
    facts = dataclasses.replace(site.facts, host="kubeflow.example.com", https=True)

    [finding] = _doctor(site, facts, "dex-config")

    cfg = _oauth2_proxy_config_map(site, "oauth2-proxy-")
    assert finding.summary == "OIDC issuer does not match the host"
    assert finding.evidence[:4] == (
        f"spec.ingress.host kubeflow.example.com and spec.tls.mode make the issuer {PUBLIC}",
        f"Dex's issuer (ConfigMap auth/dex key config.yaml): {INTERNAL} (expected {PUBLIC})",
        f"oauth2-proxy's oidc_issuer_url (ConfigMap oauth2-proxy/{cfg} key oauth2_proxy.cfg): "
        f"{INTERNAL} (expected {PUBLIC})",
        f"RequestAuthentication istio-system/dex-jwt jwtRules[0].issuer: {INTERNAL} "
        f"(expected {PUBLIC})",
    )
    assert "Jwt issuer is not configured" in finding.evidence[4]
    assert "spec.ingress.host" in finding.fix and "kfops apply -f platform.yaml" in finding.fix


def test_without_the_platform_file_the_three_issuers_must_agree(site: Site) -> None:
    config = yaml.safe_load(_dex_config(site))
    config["issuer"] = PUBLIC  # Dex edited by hand, oauth2-proxy and the gateway left behind
    _write_dex_config(site, yaml.safe_dump(config))
    facts = dataclasses.replace(site.facts, host=None, https=None, source="cluster")

    [finding] = _doctor(site, facts, "dex-config")

    assert finding.summary == "OIDC issuer differs between Dex, oauth2-proxy and the gateway"
    assert finding.evidence[0] == (
        f"Dex's issuer (ConfigMap auth/dex key config.yaml): {PUBLIC}")
    assert finding.evidence[2] == (
        f"RequestAuthentication istio-system/dex-jwt jwtRules[0].issuer: {INTERNAL} "
        f"(expected {PUBLIC})")


def test_without_the_platform_file_matching_issuers_pass(site: Site) -> None:
    facts = dataclasses.replace(site.facts, host=None, https=None, source="cluster")

    assert _doctor(site, facts, "dex-config") == []


def _oauth2_proxy_config_map(site: Site, prefix: str) -> str:
    """The name of oauth2-proxy's ConfigMap `prefix<kustomize hash>`."""
    [name] = [c["metadata"]["name"] for c in site.cluster.list("v1", "ConfigMap", "oauth2-proxy")
              if re.fullmatch(rf"{prefix}[a-z0-9]{{10}}", c["metadata"]["name"])]
    return str(name)


def _parameters(site: Site) -> str:
    return _oauth2_proxy_config_map(site, "oauth2-proxy-parameters-")


def test_secure_cookies_over_plain_http(site: Site) -> None:
    name = _parameters(site)
    site.cluster.merge_patch("v1", "ConfigMap", name, {"data": {"FORCE_HTTPS": "true"}},
                             "oauth2-proxy")

    [finding] = site.doctor("secure-cookies").findings

    assert finding.severity == "failure"
    assert "CSRF cookie" in finding.summary and "login loops" in finding.summary
    assert finding.evidence == (
        "the platform file says browsers use plain HTTP (spec.tls.mode: none)",
        f"Deployment oauth2-proxy/oauth2-proxy: OAUTH2_PROXY_COOKIE_SECURE='true' "
        f"(ConfigMap oauth2-proxy/{name} key FORCE_HTTPS)",
    )
    assert "spec.tls.mode (selfSigned or acme)" in finding.fix
    assert "kfops apply -f platform.yaml" in finding.fix


def test_a_web_app_with_secure_cookies_behind_a_plain_http_gateway(site: Site) -> None:
    deployment = site.cluster.get("apps/v1", "Deployment", "jupyter-web-app-deployment",
                                  "kubeflow")
    assert deployment is not None
    containers = deployment["spec"]["template"]["spec"]["containers"]
    containers[0]["env"] = [e for e in containers[0]["env"] if e["name"] != "APP_SECURE_COOKIES"]
    site.cluster.merge_patch("apps/v1", "Deployment", "jupyter-web-app-deployment",
                             {"spec": {"template": {"spec": {"containers": containers}}}},
                             "kubeflow")
    facts = dataclasses.replace(site.facts, https=None, source="cluster")

    [finding] = _doctor(site, facts, "secure-cookies")

    assert finding.evidence == (
        "Gateway kubeflow/kubeflow-gateway has no HTTPS server and no Ingress terminates TLS "
        "in front of it: browsers use plain HTTP",
        "Deployment kubeflow/jupyter-web-app-deployment: APP_SECURE_COOKIES is not set "
        "(the web app's default: Secure)",
    )


def test_cookies_not_secure_over_https_warn(site: Site) -> None:
    facts = dataclasses.replace(site.facts, host="kubeflow.example.com", https=True)

    [finding] = _doctor(site, facts, "secure-cookies")

    assert finding.severity == "warning"
    assert finding.summary == "cookies are not marked Secure although browsers use HTTPS"
    assert finding.evidence[0] == ("the platform file says browsers use HTTPS "
                                   "(spec.tls.mode is set)")
    assert [line.split(":")[0] for line in finding.evidence[1:]] == [
        "Deployment oauth2-proxy/oauth2-proxy", "Deployment kubeflow/jupyter-web-app-deployment",
        "Deployment kubeflow/volumes-web-app-deployment",
        "Deployment kubeflow/tensorboards-web-app-deployment",
        "Deployment kubeflow/kserve-models-web-app"]


def test_flags_matching_an_https_gateway_pass(site: Site) -> None:
    site.cluster.merge_patch("networking.istio.io/v1", "Gateway", "kubeflow-gateway", {
        "spec": {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                              "hosts": ["*"],
                              "tls": {"mode": "SIMPLE", "credentialName": "kubeflow-tls"}}]}},
        "kubeflow")
    site.cluster.merge_patch("v1", "ConfigMap", _parameters(site),
                             {"data": {"FORCE_HTTPS": "true"}}, "oauth2-proxy")
    for app in ("jupyter-web-app-deployment", "volumes-web-app-deployment",
                "tensorboards-web-app-deployment", "kserve-models-web-app"):
        deployment = site.cluster.get("apps/v1", "Deployment", app, "kubeflow")
        assert deployment is not None
        containers = deployment["spec"]["template"]["spec"]["containers"]
        for entry in containers[0]["env"]:
            if entry["name"] == "APP_SECURE_COOKIES":
                entry["value"] = "true"
        site.cluster.merge_patch("apps/v1", "Deployment", app,
                                 {"spec": {"template": {"spec": {"containers": containers}}}},
                                 "kubeflow")
    facts = dataclasses.replace(site.facts, https=None, source="cluster")

    assert _doctor(site, facts, "secure-cookies") == []
