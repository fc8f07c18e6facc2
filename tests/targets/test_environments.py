"""Each target's starter, filled in, renders the environment an administrator deploys."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfops.render import RenderResult, load_extra_crds
from kfops.validate import validate_objects
from tests.conftest import RELEASES, UPSTREAM
from tests.helpers.presets import Objects, env, render_preset, secret

UPSTREAM_DEFAULTS = {"pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok", "7d16fee92f8d11b8940b081b3f8b8acb",
                     "minio123", "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72"}


@pytest.fixture(autouse=True)
def connector_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "github-secret-from-env")
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "entra-secret-from-env")


@pytest.fixture(params=RELEASES)
def release(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def dex_config(objects: Objects) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(
        objects.get("ConfigMap", "dex", "auth")["data"]["config.yaml"])
    return config


def oauth2_cfg(objects: Objects) -> str:
    [cfg] = [o for o in objects.all if o["kind"] == "ConfigMap"
             and "oauth2_proxy.cfg" in (o.get("data") or {})]
    return str(cfg["data"]["oauth2_proxy.cfg"])


def cfg_value(text: str, key: str) -> str:
    [line] = [ln for ln in text.splitlines() if ln.startswith(f"{key} =")]
    return line.split("=", 1)[1].strip().strip('"')


def test_local_keeps_the_quick_start(tmp_path: Path, release: str) -> None:
    result = render_preset(tmp_path, "local", release)
    objects = Objects(result)
    gateway = objects.get("Service", "istio-ingressgateway", "istio-system")
    assert gateway["spec"]["type"] == "ClusterIP"
    config = dex_config(objects)
    assert config["issuer"] == "http://dex.auth.svc.cluster.local:5556/dex"
    assert [u["email"] for u in config["staticPasswords"]] == ["user@example.com"]
    assert objects.has("Profile", "kubeflow-user-example-com")
    assert any("default user user@example.com" in w for w in result.bundle.warnings)
    # Plain HTTP: secure cookies would break the web apps' forms and oauth2-proxy's login.
    assert env(objects.get("Deployment", "jupyter-web-app-deployment", "kubeflow"),
               "APP_SECURE_COOKIES")["value"] == "false"
    assert not objects.has("ClusterIssuer", "kfops-acme")
    assert not objects.has("Certificate", "kubeflow-tls", "istio-system")
    assert not any(o["kind"] == "Ingress" for o in objects.all)
    # Generated, even on local: the client secret and the database passwords.
    assert secret(objects.get("Secret", "dex-oidc-client", "auth"), "OIDC_CLIENT_SECRET") \
        not in UPSTREAM_DEFAULTS
    assert secret(objects.get("Secret", "katib-mysql-secrets", "kubeflow"),
                  "MYSQL_ROOT_PASSWORD") != "test"


@pytest.fixture(scope="module", params=RELEASES)
def onprem(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           shared_cache: Path) -> RenderResult:
    """The onprem starter with a fixed gateway address, rendered once per release."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_CACHE_DIR", str(shared_cache))
        patch.setenv("GITHUB_CLIENT_SECRET", "github-secret-from-env")
        return render_preset(
            tmp_path_factory.mktemp("onprem"), "onprem", str(request.param),
            lambda text: text.replace(
                "    serviceType: LoadBalancer\n",
                "    serviceType: LoadBalancer\n    loadBalancerIP: 192.168.1.241\n"))


def test_onprem_gateway_address_from_metallb(onprem: RenderResult) -> None:
    objects = Objects(onprem)
    gateway = objects.get("Service", "istio-ingressgateway", "istio-system")
    assert gateway["spec"]["type"] == "LoadBalancer"
    assert gateway["metadata"]["annotations"] == {"metallb.io/loadBalancerIPs": "192.168.1.241"}
    assert "loadBalancerIP" not in gateway["spec"]
    pool = objects.get("IPAddressPool", "kubeflow", "metallb-system")
    assert pool["spec"]["addresses"] == ["192.168.1.240-192.168.1.250"]
    assert objects.get("L2Advertisement", "kubeflow", "metallb-system")["spec"] == {
        "ipAddressPools": ["kubeflow"]}
    files = onprem.bundle.files
    assert any(o.kind == "IPAddressPool" for o in files["20-prereqs/metallb-pool.yaml"])
    assert {o.obj["metadata"]["name"] for o in files["00-crds/metallb.yaml"]} >= {
        "ipaddresspools.metallb.io", "l2advertisements.metallb.io"}
    # Every generated third-party object validates against the upstream CRDs.
    extra = load_extra_crds([UPSTREAM / "crds" / "metallb-v0.16.1"])
    metallb = [o for o in objects.all if o["apiVersion"].startswith("metallb.io/")]
    assert validate_objects(metallb, onprem.bundle.lock["kubernetesVersion"], extra).ok


def test_onprem_nfs_is_the_default_storage_class(onprem: RenderResult) -> None:
    objects = Objects(onprem)
    nfs = objects.get("Deployment", "nfs-client-provisioner", "nfs-provisioner")
    pod = nfs["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == (
        "registry.k8s.io/sig-storage/nfs-subdir-external-provisioner:v4.0.2")
    assert {e["name"]: e["value"] for e in pod["containers"][0]["env"]} == {
        "PROVISIONER_NAME": "k8s-sigs.io/nfs-subdir-external-provisioner",
        "NFS_SERVER": "10.0.0.5", "NFS_PATH": "/srv/kubeflow"}
    assert pod["volumes"][0]["nfs"] == {"server": "10.0.0.5", "path": "/srv/kubeflow"}
    storage_class = objects.get("StorageClass", "nfs-client")
    assert storage_class["metadata"]["annotations"][
        "storageclass.kubernetes.io/is-default-class"] == "true"
    assert storage_class["provisioner"] == "k8s-sigs.io/nfs-subdir-external-provisioner"
    binding = objects.get("ClusterRoleBinding", "run-nfs-client-provisioner")
    assert binding["subjects"][0]["namespace"] == "nfs-provisioner"
    assert any(o.obj["metadata"]["name"] == "nfs-client-provisioner"
               for o in onprem.bundle.files["20-prereqs/nfs-provisioner.yaml"])


def test_onprem_acme_certificate_through_istio(onprem: RenderResult) -> None:
    objects = Objects(onprem)
    issuer = objects.get("ClusterIssuer", "kfops-acme")["spec"]["acme"]
    assert issuer["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert issuer["email"] == "ops@example.com"
    assert issuer["solvers"] == [{"http01": {"ingress": {"class": "istio"}}}]
    certificate = objects.get("Certificate", "kubeflow-tls", "istio-system")["spec"]
    assert certificate["dnsNames"] == ["kubeflow.example.com"]
    assert certificate["issuerRef"]["name"] == "kfops-acme"
    servers = objects.get("Gateway", "kubeflow-gateway", "kubeflow")["spec"]["servers"]
    assert servers == [
        {"hosts": ["*"], "port": {"name": "http", "number": 80, "protocol": "HTTP"},
         "tls": {"httpsRedirect": True}},
        {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*"],
         "tls": {"mode": "SIMPLE", "credentialName": "kubeflow-tls"}},
    ]
    for policy in ("istio-ingressgateway-oauth2-proxy", "istio-ingressgateway-require-jwt"):
        rules = objects.get("AuthorizationPolicy", policy, "istio-system")["spec"]["rules"]
        assert "/.well-known/acme-challenge/*" in rules[0]["to"][0]["operation"]["notPaths"]


def test_onprem_github_login_with_consistent_issuers(onprem: RenderResult) -> None:
    objects = Objects(onprem)
    config = dex_config(objects)
    [github] = config["connectors"]
    assert github["config"]["clientSecret"] == "$KFOPS_GITHUB_CLIENT_SECRET"
    assert github["config"]["redirectURI"] == "https://kubeflow.example.com/dex/callback"
    assert "github-secret-from-env" not in json.dumps(config)
    assert secret(objects.get("Secret", "dex-connectors", "auth"),
                  "KFOPS_GITHUB_CLIENT_SECRET") == "github-secret-from-env"
    dex = objects.get("Deployment", "dex", "auth")
    assert {"secretRef": {"name": "dex-connectors"}} in \
        dex["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    jwt = objects.get("RequestAuthentication", "dex-jwt", "istio-system")["spec"]["jwtRules"][0]
    cfg = oauth2_cfg(objects)
    assert config["issuer"] == cfg_value(cfg, "oidc_issuer_url") == jwt["issuer"] == \
        "https://kubeflow.example.com/dex"
    assert jwt["jwksUri"] == "http://dex.auth.svc.cluster.local:5556/dex/keys"
    assert cfg_value(cfg, "redirect_url") == "https://kubeflow.example.com/oauth2/callback"
    assert env(objects.get("Deployment", "centraldashboard", "kubeflow"),
               "REGISTRATION_FLOW")["value"] == "true"
    assert not objects.has("Profile", "kubeflow-user-example-com")
    assert_no_upstream_credentials(objects)


def test_onprem_cookies_are_secure_behind_https(onprem: RenderResult) -> None:
    objects = Objects(onprem)
    for app in ("jupyter-web-app-deployment", "volumes-web-app-deployment",
                "tensorboards-web-app-deployment", "kserve-models-web-app"):
        assert env(objects.get("Deployment", app, "kubeflow"), "APP_SECURE_COOKIES")["value"] \
            == "true"
    parameters = objects.starting("ConfigMap", "oauth2-proxy-parameters", "oauth2-proxy")
    assert parameters["data"]["FORCE_HTTPS"] == "true"


def assert_no_upstream_credentials(objects: Objects) -> None:
    text = json.dumps(objects.all)
    for value in UPSTREAM_DEFAULTS:
        assert value not in text
    for obj in objects.all:
        if obj["kind"] == "Secret":
            for key in {**(obj.get("data") or {}), **(obj.get("stringData") or {})}:
                assert secret(obj, key) not in {"test", "minio", "minio123"}, (obj, key)
    config = yaml.safe_load(objects.get("ConfigMap", "dex", "auth")["data"]["config.yaml"])
    assert "user@example.com" not in json.dumps(config)


def test_aks_entra_id_and_azure_address(tmp_path: Path, release: str) -> None:
    result = render_preset(tmp_path, "aks", release, lambda text: text.replace(
        "    serviceType: LoadBalancer\n",
        "    serviceType: LoadBalancer\n    loadBalancerIP: 20.1.2.3\n"))
    objects = Objects(result)
    gateway = objects.get("Service", "istio-ingressgateway", "istio-system")
    assert gateway["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/azure-dns-label-name": "my-kubeflow",
        "service.beta.kubernetes.io/azure-load-balancer-ipv4": "20.1.2.3"}
    config = dex_config(objects)
    assert config["enablePasswordDB"] is False and "staticPasswords" not in config
    [entra] = config["connectors"]
    assert entra["type"] == "oidc" and entra["config"]["issuer"].startswith(
        "https://login.microsoftonline.com/")
    assert entra["config"]["clientSecret"] == "$KFOPS_ENTRA_CLIENT_SECRET"
    assert entra["config"]["insecureSkipEmailVerified"] is True
    assert_no_upstream_credentials(objects)


def test_generic_static_users_and_an_existing_secret(tmp_path: Path, release: str) -> None:
    result = render_preset(tmp_path, "generic", release)
    objects = Objects(result)
    config = dex_config(objects)
    [user] = config["staticPasswords"]
    assert user["email"] == "admin@example.com" and "hash" not in user
    passwords = objects.get("Secret", "dex-passwords", "auth")
    assert secret(passwords, user["hashFromEnv"]).startswith("$2y$12$")
    assert "$2y$" not in objects.get("ConfigMap", "dex", "auth")["data"]["config.yaml"]
    assert not any(o["kind"] == "Certificate" for o in objects.all
                   if o["metadata"].get("namespace") == "istio-system")
    servers = objects.get("Gateway", "kubeflow-gateway", "kubeflow")["spec"]["servers"]
    assert servers[1]["tls"]["credentialName"] == "kubeflow-tls"
    assert_no_upstream_credentials(objects)


def test_ingress_class_terminates_tls_without_a_redirect_loop(tmp_path: Path) -> None:
    result = render_preset(tmp_path, "generic", "26.03", lambda text: text.replace(
        "    serviceType: LoadBalancer\n",
        "    serviceType: ClusterIP\n    ingressClass: nginx\n").replace(
        "    mode: secret\n", "    mode: selfSigned\n    ipAddresses: [10.1.2.3]\n"))
    objects = Objects(result)
    ingress = objects.get("Ingress", "kubeflow", "istio-system")["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["tls"] == [{"hosts": ["kubeflow.example.com"], "secretName": "kubeflow-tls"}]
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "istio-ingressgateway", "port": {"number": 80}}
    # TLS ends at the Ingress: the Istio gateway stays plain HTTP and never redirects.
    servers = objects.get("Gateway", "kubeflow-gateway", "kubeflow")["spec"]["servers"]
    assert servers == [{"hosts": ["*"], "port": {"name": "http", "number": 80,
                                                 "protocol": "HTTP"}}]
    certificate = objects.get("Certificate", "kubeflow-tls", "istio-system")["spec"]
    assert certificate["issuerRef"]["name"] == "kubeflow-self-signing-issuer"
    assert certificate["dnsNames"] == ["kubeflow.example.com"]
    assert certificate["ipAddresses"] == ["10.1.2.3"]
    # The browser still sees HTTPS, so cookies stay Secure.
    assert env(objects.get("Deployment", "jupyter-web-app-deployment", "kubeflow"),
               "APP_SECURE_COOKIES")["value"] == "true"


def test_dns01_credentials_go_into_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "cloudflare-token-value")
    result = render_preset(tmp_path, "onprem", "26.03", lambda text: text.replace(
        '      email: "ops@example.com"\n',
        '      email: "ops@example.com"\n      solver: dns01\n'
        "      dns01: {cloudflare: {apiToken: {env: CLOUDFLARE_API_TOKEN}}}\n"))
    objects = Objects(result)
    [solver] = objects.get("ClusterIssuer", "kfops-acme")["spec"]["acme"]["solvers"]
    assert solver == {"dns01": {"cloudflare": {
        "apiTokenSecretRef": {"name": "kfops-acme-dns01", "key": "apiToken"}}}}
    assert secret(objects.get("Secret", "kfops-acme-dns01", "cert-manager"), "apiToken") == \
        "cloudflare-token-value"
    # DNS-01 needs no exemption in the gateway policies.
    rules = objects.get("AuthorizationPolicy", "istio-ingressgateway-oauth2-proxy",
                        "istio-system")["spec"]["rules"]
    assert "/.well-known/acme-challenge/*" not in rules[0]["to"][0]["operation"]["notPaths"]


def generated(result: RenderResult) -> dict[str, str]:
    objects = Objects(result)
    return {
        "dex": secret(objects.get("Secret", "dex-oidc-client", "auth"), "OIDC_CLIENT_SECRET"),
        "proxy": secret(objects.starting("Secret", "oauth2-proxy-", "oauth2-proxy"),
                        "client-secret"),
        "cookie": secret(objects.starting("Secret", "oauth2-proxy-", "oauth2-proxy"),
                         "cookie-secret"),
        "katib": secret(objects.get("Secret", "katib-mysql-secrets", "kubeflow"),
                        "MYSQL_ROOT_PASSWORD"),
        "mysql": secret(objects.get("Secret", "mysql-secret", "kubeflow"), "password"),
        "store": secret(objects.get("Secret", "mlpipeline-minio-artifact", "kubeflow"),
                        "secretkey"),
    }


def test_generated_secrets_are_stable_per_install_and_differ_between_installs(
    tmp_path: Path
) -> None:
    first = generated(render_preset(tmp_path / "one", "generic", "26.03"))
    again = generated(render_preset(tmp_path / "one", "generic", "26.03"))
    other = generated(render_preset(tmp_path / "two", "generic", "26.03"))
    assert first == again
    assert all(first[k] != other[k] for k in first)
    # Producer and consumer of the OIDC client secret agree.
    assert first["dex"] == first["proxy"]
    assert len(first["cookie"]) == 32
    state = tmp_path / "one" / ".kfops" / "secrets.json"
    assert state.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "one" / ".kfops").stat().st_mode & 0o777 == 0o700


def test_pipelines_database_server_uses_the_generated_password(tmp_path: Path) -> None:
    objects = Objects(render_preset(tmp_path, "generic", "26.03"))
    server = objects.get("Deployment", "mysql", "kubeflow")
    names = {e["name"] for e in server["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "MYSQL_ALLOW_EMPTY_PASSWORD" not in names
    assert env(server, "MYSQL_ROOT_PASSWORD")["valueFrom"] == {
        "secretKeyRef": {"name": "mysql-secret", "key": "password"}}
    for consumer in ("ml-pipeline", "cache-server", "metadata-grpc-deployment"):
        deployment = objects.get("Deployment", consumer, "kubeflow")
        assert env(deployment, "DBCONFIG_PASSWORD")["valueFrom"]["secretKeyRef"]["name"] == \
            "mysql-secret"


def test_metallb_for_an_ingress_controller_in_front_of_a_clusterip_gateway(
        tmp_path: Path) -> None:
    """A k3d/kind lab: MetalLB addresses an ingress-nginx the administrator installed."""
    source = UPSTREAM / "prereqs/metallb-v0.16.1/metallb-native.yaml"
    metallb = f"  metallb:\n    source: {source}\n    addresses: [172.18.255.200-172.18.255.250]\n"

    def lab(ingress: str) -> Callable[[str], str]:
        return lambda text: text.replace("  ingress:\n    serviceType: ClusterIP ",
                                         metallb + ingress + "  ingress:\n    serviceType: "
                                         "ClusterIP ")

    result = render_preset(tmp_path / "nginx", "local", "26.03", lab(""))
    assert any("spec.metallb: the gateway Service is ClusterIP" in w
               for w in result.bundle.warnings)
    result = render_preset(tmp_path / "lab", "local", "26.03", lambda text: lab("")(text).replace(
        "    serviceType: ClusterIP ",
        "    host: kubeflow.lab.internal\n    ingressClass: nginx\n    serviceType: ClusterIP "))
    objects = Objects(result)
    assert objects.get("Service", "istio-ingressgateway", "istio-system")["spec"][
        "type"] == "ClusterIP"
    assert objects.get("Ingress", "kubeflow", "istio-system")["spec"]["ingressClassName"] == \
        "nginx"
    assert objects.has("IPAddressPool", "kubeflow", "metallb-system")
    assert not any("spec.metallb" in w for w in result.bundle.warnings)
