"""kfops's profile-controller hook against the release's own sync.py, in this process.

Each release's real sync.py (the upstream tree the renders use) is loaded as the
controller's image runs it, with the environment kfops's Deployment gives it;
its server is built by its own `server_factory` and its handler's `sync` is
called directly, once as the release ships it and once wrapped by kfops.
One test runs the shipped hook file as the controller does and POSTs to it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kfops.config import ObjectStore
from kfops.storage._object_store import hook_settings, hook_source
from kfops.storage._pipelines_hook import MARK, load_release_sync, wrap
from tests.conftest import MANIFESTS, RELEASES
from tests.helpers.oci import free_port

SYNC = ("applications/pipeline/upstream/base/installs/multi-user/pipelines-profile-controller/"
        "sync.py")
NAMESPACE = "team-a"
BUCKET = "kfp-artifacts"
ACCESS_KEY = "AKIAKFOPSHOOK7Q3ZX1Y2"
SECRET_KEY = "kfopsHookSecret/9mYw+2Zq8pL0vXc4"
#: The attachments of the release's DecoratorController (decorator-controller.yaml), keyed
#: as metacontroller sends them.
ATTACHMENT_KINDS = {"Secret": "Secret.v1", "ConfigMap": "ConfigMap.v1",
                    "Deployment": "Deployment.apps/v1", "Service": "Service.v1",
                    "DestinationRule": "DestinationRule.networking.istio.io/v1alpha3",
                    "AuthorizationPolicy": "AuthorizationPolicy.security.istio.io/v1beta1"}
CA_PEM = ("-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKfopsTestCAmIIBkTCB+wIJAKfopsTestCA\n"
          "-----END CERTIFICATE-----\n")
#: The store as the administrator writes it, per credentials mode.
STORES: dict[str, dict[str, Any]] = {
    "shared": {"type": "s3", "endpoint": "https://objects.example.net:9443",
               "region": "eu-west-3", "bucket": BUCKET,
               "credentials": {"accessKey": {"env": "A"}, "secretKey": {"env": "B"}}},
    "fromEnv": {"type": "s3", "region": "eu-central-1", "bucket": BUCKET,
                "credentials": {"fromEnv": True}},
    "perNamespace": {"type": "s3", "endpoint": "http://store.lab.internal:9000", "tls": False,
                     "bucket": BUCKET,
                     "credentials": {"accessKey": {"env": "A"}, "secretKey": {"env": "B"}},
                     "perNamespaceCredentials": {"secretName": "{namespace}-s3"}},
    "caBundle": {"type": "s3", "endpoint": "https://store.lab.internal:8443",
                 "region": "lab-1", "bucket": BUCKET, "caBundle": {"file": "ca.pem"},
                 "credentials": {"accessKey": {"env": "A"}, "secretKey": {"env": "B"}}},
}
#: What each store's settings mean for the objects (written out, not computed by kfops).
ENDPOINTS = {"shared": ("https://objects.example.net:9443", "objects.example.net:9443",
                        "eu-west-3", True),
             "fromEnv": ("https://s3.eu-central-1.amazonaws.com",
                         "s3.eu-central-1.amazonaws.com", "eu-central-1", True),
             "perNamespace": ("http://store.lab.internal:9000", "store.lab.internal:9000",
                              "us-east-1", False),
             "caBundle": ("https://store.lab.internal:8443", "store.lab.internal:8443",
                          "lab-1", True)}
KEY_SECRET = {"shared": "mlpipeline-minio-artifact", "fromEnv": None,
              "perNamespace": f"{NAMESPACE}-s3", "caBundle": "mlpipeline-minio-artifact"}


def release_env(release: str, option: str, keys: bool) -> dict[str, str]:
    """The env kfops's profile-controller Deployment gives the release's code (its
    deployment.yaml and pipeline-install-config, less the store's pointers kfops removes;
    with workload identity the key env is empty)."""
    access, secret = (ACCESS_KEY, SECRET_KEY) if keys else ("", "")
    if release == "v1.10.2":
        return {"KFP_VERSION": "2.5.0", "DISABLE_ISTIO_SIDECAR": "false",
                "MINIO_ACCESS_KEY": access, "MINIO_SECRET_KEY": secret,
                # pipeline-install-config's is "": `root` is an administrator's own value
                "KFP_DEFAULT_PIPELINE_ROOT": "minio://mlpipeline/v2/artifacts"
                if option == "root" else ""}
    return {"KFP_VERSION": "2.16.0", "DISABLE_ISTIO_SIDECAR": "false", "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret,
            "KFP_DEFAULT_PIPELINE_ROOT": "", "ARTIFACT_RETENTION_DAYS": "-1",
            "ARTIFACTS_PROXY_ENABLED": "true" if option == "proxy" else "false"}


#: Per release, the release option each case runs with: v1.10.2's pipeline root (the
#: release then writes kfp-launcher itself), 26.03's artifact proxy (then its sync writes a
#: Deployment that reads the store).
OPTIONS = {"v1.10.2": ("none", "root"), "26.03": ("none", "proxy")}
CASES = [(r, o, m) for r in RELEASES for o in OPTIONS[r] for m in STORES]


class Refused(AssertionError):
    """The release's code touched a client kfops's hook must keep it from using."""


def refusing(name: str, touched: list[str]) -> Any:
    """An object that records and refuses every attribute access (IAM, S3: no call)."""

    class Refusing:
        def __getattribute__(self, attribute: str) -> Any:
            touched.append(f"{name}.{attribute}")
            raise Refused(f"the release's code used {name}.{attribute}")

    return Refusing()


@dataclass
class Hook:
    """The release's module and two servers of it: as shipped, and wrapped by kfops."""

    release: str
    mode: str
    """The store's case (a key of STORES)."""
    module: ModuleType
    own: Any
    wrapped: Any
    settings: dict[str, Any]
    touched: list[str]

    def own_sync(self, parent: dict[str, Any], attachments: dict[str, Any]) -> Any:
        return self.own.RequestHandlerClass.sync(None, parent, attachments)

    def sync(self, parent: dict[str, Any], attachments: dict[str, Any]) -> Any:
        return self.wrapped.RequestHandlerClass.sync(None, parent, attachments)


def settings_for(mode: str) -> dict[str, Any]:
    """The settings kfops writes into the Deployment's KFOPS_OBJECT_STORE."""
    return hook_settings(ObjectStore.model_validate(STORES[mode]),
                         CA_PEM if mode == "caBundle" else None)


@pytest.fixture
def hook(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    release, option, mode = request.param
    keys = mode != "fromEnv"
    for name, value in release_env(release, option, keys).items():
        monkeypatch.setenv(name, value)
    # Never the default port 8080, never every interface: a port of 127.0.0.1 only.
    monkeypatch.setenv("CONTROLLER_PORT", str(free_port()))
    module = load_release_sync(str(MANIFESTS / release / SYNC))
    touched: list[str] = []
    for client in ("iam", "s3"):
        if hasattr(module, client):  # 26.03's SeaweedFS IAM and S3 clients
            monkeypatch.setattr(module, client, refusing(client, touched))
    own = module.server_factory(**module.get_settings_from_env(), url="127.0.0.1")
    monkeypatch.setenv("CONTROLLER_PORT", str(free_port()))
    wrapped = module.server_factory(**module.get_settings_from_env(), url="127.0.0.1")
    settings = settings_for(mode)
    wrap(wrapped, settings, {"accesskey": ACCESS_KEY, "secretkey": SECRET_KEY} if keys else None)
    try:
        yield Hook(release, mode, module, own, wrapped, settings, touched)
    finally:
        own.server_close()
        wrapped.server_close()


def namespace(enabled: bool = True) -> dict[str, Any]:
    labels = {"pipelines.kubeflow.org/enabled": "true"} if enabled else {}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": {**labels, "app": "profile"}}}


def observed(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Attachments as metacontroller sends them: every kind, `namespace/name` -> object."""
    found: dict[str, dict[str, Any]] = {key: {} for key in ATTACHMENT_KINDS.values()}
    for obj in objects:
        metadata = obj["metadata"]
        found[ATTACHMENT_KINDS[obj["kind"]]][f"{metadata['namespace']}/{metadata['name']}"] = obj
    return found


def release_secret() -> dict[str, Any]:
    """The store Secret the release's own sync finds in an existing namespace (so that
    26.03's code reuses it instead of calling SeaweedFS's IAM)."""
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "mlpipeline-minio-artifact", "namespace": NAMESPACE},
            "data": {"accesskey": "b2xk", "secretkey": "b2xkc2VjcmV0"}}


def by_name(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


STORE_OBJECTS = {("ConfigMap", "kfp-launcher"), ("ConfigMap", "artifact-repositories"),
                 ("Secret", "mlpipeline-minio-artifact"), ("Secret", "kfp-object-store-ca")}
#: The release's workload that reads the store: kept, with the store's settings.
ARTIFACT_PROXY = ("Deployment", "ml-pipeline-ui-artifact")


def both_answers(hook: Hook) -> tuple[dict[str, Any], dict[str, Any]]:
    """(release's own answer for an existing namespace, kfops's for a new one)."""
    own = hook.own_sync(namespace(), observed([release_secret()]))
    answer = hook.sync(namespace(), observed([]))
    return own, answer


@pytest.mark.parametrize("hook", CASES, indirect=True, ids="-".join)
def test_everything_but_the_store_is_the_release_own(hook: Hook) -> None:
    own, answer = both_answers(hook)
    mine, theirs = by_name(answer["attachments"]), by_name(own["attachments"])
    assert len(mine) == len(answer["attachments"])  # no object twice
    kept = set(theirs) - STORE_OBJECTS - {ARTIFACT_PROXY}
    assert kept  # the release's own objects are there to compare
    assert {k: mine.get(k) for k in kept} == {k: theirs[k] for k in kept}
    assert set(mine) - STORE_OBJECTS == set(theirs) - STORE_OBJECTS
    if ARTIFACT_PROXY in theirs:
        proxy_kept_but_pointed(theirs[ARTIFACT_PROXY], mine[ARTIFACT_PROXY], hook.mode)
    assert hook.touched == []


def proxy_kept_but_pointed(theirs: dict[str, Any], mine: dict[str, Any], mode: str) -> None:
    """The artifact proxy: the release's Deployment, its store env replaced by kfops's."""
    [their_container], [my_container] = (d["spec"]["template"]["spec"]["containers"]
                                         for d in (theirs, mine))
    their_env = {e["name"]: e for e in their_container["env"]}
    my_env = {e["name"]: e for e in my_container["env"]}
    release_store_env = {"MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"}
    for name in set(their_env) - release_store_env:
        assert my_env[name] == their_env[name], name  # ML_PIPELINE_SERVICE_HOST, ...
    _, host_port, region, tls = ENDPOINTS[mode]
    host, _, port = host_port.partition(":")
    assert {n: my_env[n]["value"] for n in ("MINIO_HOST", "MINIO_PORT", "MINIO_SSL",
                                            "AWS_S3_ENDPOINT", "AWS_REGION")} == {
        "MINIO_HOST": host, "MINIO_PORT": port or "443", "MINIO_SSL": str(tls).lower(),
        "AWS_S3_ENDPOINT": host, "AWS_REGION": region}
    refs = {n: e["valueFrom"]["secretKeyRef"] for n, e in my_env.items()
            if "secretKeyRef" in (e.get("valueFrom") or {})}
    secret = KEY_SECRET[mode]
    assert {r["name"] for r in refs.values()} == ({secret} if secret else set())
    if secret is not None:
        assert set(refs) == {"MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "AWS_ACCESS_KEY_ID",
                             "AWS_SECRET_ACCESS_KEY"}
    if mode == "caBundle":
        assert my_env["NODE_EXTRA_CA_CERTS"]["value"] == "/etc/kfops/object-store-ca/ca.crt"
        assert {"name": "kfops-object-store-ca", "mountPath": "/etc/kfops/object-store-ca",
                "readOnly": True} in my_container["volumeMounts"]
    rest = {k: v for k, v in my_container.items() if k not in ("env", "volumeMounts")}
    assert rest == {k: v for k, v in their_container.items() if k != "env"}


@pytest.mark.parametrize("hook", CASES, indirect=True, ids="-".join)
def test_store_objects_are_kfops_own(hook: Hook) -> None:
    own, answer = both_answers(hook)
    mine = by_name(answer["attachments"])
    case = hook.mode
    url, host_port, region, tls = ENDPOINTS[case]
    secret = KEY_SECRET[case]

    launcher = mine[("ConfigMap", "kfp-launcher")]["data"]
    assert launcher["defaultPipelineRoot"] == \
        f"s3://{BUCKET}/private-artifacts/{NAMESPACE}/v2/artifacts"
    providers = json.loads(launcher["providers"])
    credentials = {"fromEnv": True} if secret is None else {
        "fromEnv": False, "secretRef": {"secretName": secret, "accessKeyKey": "accesskey",
                                        "secretKeyKey": "secretkey"}}
    assert providers == {"s3": {"default": {
        "endpoint": url, "region": region, "disableSSL": not tls,
        "forcePathStyle": case != "fromEnv", "credentials": credentials}}}
    their_launcher = by_name(own["attachments"]).get(("ConfigMap", "kfp-launcher"))
    if hook.release == "26.03":  # the release's other keys are kept
        assert their_launcher is not None
        assert launcher["clusterDomain"] == their_launcher["data"]["clusterDomain"]
    assert set(launcher) == {"defaultPipelineRoot", "providers"} | (
        {"clusterDomain"} if hook.release == "26.03" else set())

    repositories = mine[("ConfigMap", "artifact-repositories")]
    assert repositories["metadata"]["annotations"] == {
        "workflows.argoproj.io/default-artifact-repository": "default-namespaced",
        MARK: "s3"}
    # every store object carries the mark that tells a switch back what kfops wrote
    store = [("ConfigMap", "kfp-launcher"), ("ConfigMap", "artifact-repositories"),
             ("Secret", "mlpipeline-minio-artifact"), ("Secret", "kfp-object-store-ca")]
    assert {mine[key]["metadata"]["annotations"][MARK] for key in store if key in mine} == {"s3"}
    repository = json.loads(repositories["data"]["default-namespaced"])
    s3 = repository["s3"]
    assert repository["archiveLogs"] is True
    assert (s3["endpoint"], s3["bucket"], s3["region"], s3["insecure"]) == (
        host_port, BUCKET, region, not tls)
    assert s3["keyFormat"] == (
        f"private-artifacts/{NAMESPACE}/{{{{workflow.name}}}}/"
        "{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/"
        "{{workflow.creationTimestamp.d}}/{{pod.name}}")
    if secret is None:
        assert s3["useSDKCreds"] is True and "accessKeySecret" not in s3
    else:
        assert s3["accessKeySecret"] == {"name": secret, "key": "accesskey"}
        assert s3["secretKeySecret"] == {"name": secret, "key": "secretkey"}

    # The keys' Secret only for shared keys (perNamespace: the administrator's own Secret).
    store_secret = mine.get(("Secret", "mlpipeline-minio-artifact"))
    if case in ("shared", "caBundle"):
        assert store_secret is not None
        assert store_secret["data"] == {
            "accesskey": base64.b64encode(ACCESS_KEY.encode()).decode(),
            "secretkey": base64.b64encode(SECRET_KEY.encode()).decode()}
    else:
        assert store_secret is None
    ca = mine.get(("Secret", "kfp-object-store-ca"))
    if case == "caBundle":
        assert ca is not None
        assert base64.b64decode(ca["data"]["ca.crt"]).decode() == CA_PEM
        assert s3["caSecret"] == {"name": "kfp-object-store-ca", "key": "ca.crt"}
    else:
        assert ca is None and "caSecret" not in s3
    assert all(o["metadata"]["namespace"] == NAMESPACE for o in answer["attachments"])
    assert hook.touched == []


@pytest.mark.parametrize("hook", [("26.03", "none", "shared"), ("26.03", "proxy", "fromEnv")],
                         indirect=True, ids="-".join)
def test_a_new_namespace_makes_no_iam_or_s3_call(hook: Hook) -> None:
    """The release's own sync creates SeaweedFS IAM keys for a namespace without its
    Secret (and sets a lifecycle policy); wrapped, it never reaches either client."""
    with pytest.raises(Refused):
        hook.own_sync(namespace(), observed([]))  # the clients really refuse
    hook.touched.clear()
    answer = hook.sync(namespace(), observed([]))
    assert answer["attachments"] and hook.touched == []


@pytest.mark.parametrize("hook", [c for c in CASES if c[2] in ("shared", "fromEnv")],
                         indirect=True, ids="-".join)
def test_a_namespace_without_pipelines_gets_the_release_empty_answer(hook: Hook) -> None:
    for labels in (namespace(enabled=False), {"metadata": {"name": NAMESPACE}}):
        own = hook.own_sync(labels, observed([]))
        assert own == {"status": {}, "attachments": []}
        assert hook.sync(labels, observed([])) == own


@pytest.mark.parametrize("hook", CASES, indirect=True, ids="-".join)
def test_ready_only_when_every_desired_object_is_observed(hook: Hook) -> None:
    first = hook.sync(namespace(), observed([]))
    assert first["status"] == {"kubeflow-pipelines-ready": "False"}
    desired = first["attachments"]
    assert hook.sync(namespace(), observed(desired))["status"] == {
        "kubeflow-pipelines-ready": "True"}
    for missing in desired:
        partial = [o for o in desired if o is not missing]
        assert hook.sync(namespace(), observed(partial))["status"] == {
            "kubeflow-pipelines-ready": "False"}, missing["metadata"]["name"]
    # An object of the in-cluster store's era that kfops no longer wants does not count.
    extra = observed(desired)
    extra["Secret.v1"].setdefault(f"{NAMESPACE}/stale", release_secret())
    assert hook.sync(namespace(), extra)["status"] == {"kubeflow-pipelines-ready": "True"}


# --- the shipped file, run as the controller runs it --------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_the_shipped_hook_serves_a_metacontroller_request(release: str, tmp_path: Path) -> None:
    """`python /hooks/kfops_store.py` beside the release's sync.py, as the ConfigMap mounts
    them; a POST as metacontroller sends it gets kfops's store objects."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "kfops_store.py").write_text(hook_source(), encoding="utf-8")
    shutil.copyfile(MANIFESTS / release / SYNC, hooks / "sync.py")
    port = free_port()
    settings = settings_for("shared")
    environment = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        **release_env(release, "proxy" if release == "26.03" else "none", keys=True),
        "CONTROLLER_PORT": str(port), "KFOPS_OBJECT_STORE": json.dumps(settings),
        "KFOPS_STORE_ACCESS_KEY": ACCESS_KEY, "KFOPS_STORE_SECRET_KEY": SECRET_KEY,
        # Should the release's code reach AWS after all, it meets a closed local port.
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "AWS_EC2_METADATA_DISABLED": "true", "PYTHONUNBUFFERED": "1",
    }
    request = {"controller": {}, "object": namespace(), "attachments": observed([])}
    with subprocess.Popen([sys.executable, str(hooks / "kfops_store.py")], env=environment,
                          cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        try:
            answer = post_when_up(port, request, process)
        finally:
            process.terminate()
            out, err = process.communicate(timeout=30)
    assert "kfops: profile controller serving with the object store at " \
           "https://objects.example.net:9443" in err
    objects = by_name(answer["attachments"])
    assert answer["status"] == {"kubeflow-pipelines-ready": "False"}
    launcher = objects[("ConfigMap", "kfp-launcher")]["data"]
    assert launcher["defaultPipelineRoot"] == \
        f"s3://{BUCKET}/private-artifacts/{NAMESPACE}/v2/artifacts"
    assert json.loads(launcher["providers"])["s3"]["default"]["endpoint"] == \
        "https://objects.example.net:9443"
    assert objects[("Secret", "mlpipeline-minio-artifact")]["data"]["accesskey"] == \
        base64.b64encode(ACCESS_KEY.encode()).decode()
    release_kept = {"v1.10.2": ("Deployment", "ml-pipeline-visualizationserver"),
                    "26.03": ("ConfigMap", "metadata-grpc-configmap")}[release]
    assert release_kept in objects
    # The keys never reach the log (the release prints its answer without the Secret).
    for key in (ACCESS_KEY, SECRET_KEY):
        for form in (key, base64.b64encode(key.encode()).decode()):
            assert form not in out and form not in err


#: No proxy from the environment between the test and 127.0.0.1.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post_when_up(port: int, request: dict[str, Any],
                 process: subprocess.Popen[str]) -> dict[str, Any]:
    """POST `request` to the hook once it listens (it starts within seconds)."""
    body = json.dumps(request).encode()
    deadline = time.monotonic() + 30
    while True:
        try:
            with DIRECT.open(urllib.request.Request(
                    f"http://127.0.0.1:{port}/sync", data=body,
                    headers={"Content-Type": "application/json"}), timeout=10) as response:
                return dict(json.loads(response.read()))
        except (ConnectionRefusedError, urllib.error.URLError) as error:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the hook did not serve: {error}") from error
            time.sleep(0.1)
