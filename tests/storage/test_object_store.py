"""`spec.objectStore.type: s3` rendered on the real manifests of both shipped releases.

Each (release, variant) is rendered once per module and written as `render --out` writes
it; the tests read every piece the issue names (API server, UI, Argo, launcher, install
config, profile controller) and scan every file of the written bundle for the in-cluster
store and for the administrator's keys.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfops.objects import identity_of
from kfops.render import RenderResult, write_bundle
from kfops.storage import _object_store
from kfops.storage._pipelines_hook import __file__ as HOOK_PATH
from tests.conftest import RELEASES
from tests.controlplane._pki import generate as generate_pki
from tests.helpers.presets import Objects, env, render_preset, secret

NAMESPACE = "kubeflow"
BUCKET = "kfp-artifacts"
#: The administrator's keys, set in the environment the platform file names.
ACCESS_KEY = "AKIAKFOPSTEST7Q3ZX1Y2"
SECRET_KEY = "kfopsTestSecret/9mYw+2Zq8pL0vXc4"
OTHER_SECRET_KEY = "kfopsRotatedSecret/7tRe+5Hk1mN3bQw8"
CREDENTIALS = ("    credentials: {accessKey: {env: KFOPS_TEST_S3_ACCESS}, "
               "secretKey: {env: KFOPS_TEST_S3_SECRET}}\n")
CA_FILE = "store-ca.pem"

#: The platform file's objectStore section of each variant.
VARIANTS = {
    "static": ("  objectStore:\n    type: s3\n    endpoint: https://objects.example.net:9443\n"
               f"    region: eu-west-3\n    bucket: {BUCKET}\n    forcePathStyle: true\n"
               + CREDENTIALS),
    "aws": ("  objectStore:\n    type: s3\n    region: eu-central-1\n"
            f"    bucket: {BUCKET}\n" + CREDENTIALS),
    "fromEnv": ("  objectStore:\n    type: s3\n    region: eu-central-1\n"
                f"    bucket: {BUCKET}\n    credentials: {{fromEnv: true}}\n"),
    "perNamespace": ("  objectStore:\n    type: s3\n    endpoint: https://objects.example.net\n"
                     f"    region: eu-west-3\n    bucket: {BUCKET}\n" + CREDENTIALS
                     + "    perNamespaceCredentials: {secretName: \"{namespace}-s3\"}\n"),
    "caBundle": ("  objectStore:\n    type: s3\n    endpoint: https://store.lab.internal:8443\n"
                 f"    region: lab-1\n    bucket: {BUCKET}\n"
                 f"    caBundle: {{file: {CA_FILE}}}\n" + CREDENTIALS),
    "http": ("  objectStore:\n    type: s3\n    endpoint: http://store.lab.internal:9000\n"
             f"    bucket: {BUCKET}\n    tls: false\n" + CREDENTIALS),
}


@dataclass(frozen=True)
class Expected:
    """What each piece must say about the store, written out per variant."""

    host: str
    port: str
    """The API server's port ("" for AWS, reached by name as upstream's env/aws does)."""
    ui_port: str
    tls: bool
    region: str
    url: str
    """The launcher's and hook's endpoint (with scheme)."""
    path_style: bool
    keys: bool
    """Static keys (from the Secret); False: workload identity."""
    launcher_secret: str | None
    """The kubeflow namespace's launcher keys: the platform's, never a team's Secret."""
    ca: bool = False


EXPECTED = {
    "static": Expected("objects.example.net", "9443", "9443", True, "eu-west-3",
                       "https://objects.example.net:9443", True, True,
                       "mlpipeline-minio-artifact"),
    "aws": Expected("s3.eu-central-1.amazonaws.com", "", "443", True, "eu-central-1",
                    "https://s3.eu-central-1.amazonaws.com", False, True,
                    "mlpipeline-minio-artifact"),
    "fromEnv": Expected("s3.eu-central-1.amazonaws.com", "", "443", True, "eu-central-1",
                        "https://s3.eu-central-1.amazonaws.com", False, False, None),
    "perNamespace": Expected("objects.example.net", "443", "443", True, "eu-west-3",
                             "https://objects.example.net", True, True,
                             "mlpipeline-minio-artifact"),
    "caBundle": Expected("store.lab.internal", "8443", "8443", True, "lab-1",
                         "https://store.lab.internal:8443", True, True,
                         "mlpipeline-minio-artifact", ca=True),
    "http": Expected("store.lab.internal", "9000", "9000", False, "us-east-1",
                     "http://store.lab.internal:9000", True, True,
                     "mlpipeline-minio-artifact"),
}

#: The release's store: every object of it, as the upstream manifests name them.
STORE_OBJECTS = {
    "v1.10.2": {("Deployment", "minio"), ("Service", "minio-service"),
                ("PersistentVolumeClaim", "minio-pvc"), ("NetworkPolicy", "minio"),
                ("DestinationRule", "ml-pipeline-minio"),
                ("AuthorizationPolicy", "minio-service")},
    "26.03": {("Deployment", "seaweedfs"), ("Service", "seaweedfs"),
              ("ServiceAccount", "seaweedfs"), ("PersistentVolumeClaim", "seaweedfs-pvc"),
              ("NetworkPolicy", "seaweedfs"), ("DestinationRule", "ml-pipeline-seaweedfs"),
              ("AuthorizationPolicy", "seaweedfs-service")},
}
STORE_SECRET = ("Secret", "mlpipeline-minio-artifact")
PROFILE_CONTROLLER = "kubeflow-pipelines-profile-controller"


@dataclass(frozen=True)
class Rendered:
    release: str
    variant: str
    result: RenderResult
    out: Path
    """The bundle as `render --out` writes it."""

    @property
    def objects(self) -> Objects:
        return Objects(self.result)

    @property
    def expected(self) -> Expected:
        return EXPECTED[self.variant]


def render_variant(folder: Path, release: str, variant: str, cache: Path, ca_pem: str, *,
                   section: str | None = None, secret_key: str = SECRET_KEY,
                   out: str = "bundle") -> Rendered:
    """The generic starter with the variant's section (or `section`) added, rendered and
    written to folder/`out` (renders in one folder share its state: the same generated
    values)."""
    section = VARIANTS.get(variant, "") if section is None else section
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CA_FILE).write_text(ca_pem)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_CACHE_DIR", str(cache))
        patch.setenv("KFOPS_TEST_S3_ACCESS", ACCESS_KEY)
        patch.setenv("KFOPS_TEST_S3_SECRET", secret_key)
        result = render_preset(folder, "generic", release, lambda text: text + section)
    write_bundle(result.bundle, folder / out)
    return Rendered(release, variant, result, folder / out)


@pytest.fixture(scope="module")
def store_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA certificate (PEM) the store's TLS certificate would chain to."""
    return generate_pki(tmp_path_factory.mktemp("pki")).ca.read_text()


@pytest.fixture(scope="module", params=[(r, v) for r in RELEASES for v in VARIANTS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             shared_cache: Path, store_ca: str) -> Rendered:
    release, variant = request.param
    return render_variant(tmp_path_factory.mktemp(f"{release}-{variant}"), release, variant,
                          shared_cache, store_ca)


@pytest.fixture(scope="module")
def in_cluster(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path,
               store_ca: str) -> dict[str, Rendered]:
    """The same platform with the release's own store (type inCluster, the default)."""
    return {release: render_variant(tmp_path_factory.mktemp(f"own-{release}"), release,
                                    "inCluster", shared_cache, store_ca)
            for release in RELEASES}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    return dict(deployment["spec"]["template"]["spec"]["containers"][0])


def env_names(deployment: dict[str, Any]) -> set[str]:
    return {e["name"] for e in container(deployment).get("env") or []}


def value(deployment: dict[str, Any], name: str) -> str:
    return str(env(deployment, name)["value"])


def secret_ref(deployment: dict[str, Any], name: str) -> dict[str, str]:
    return dict(env(deployment, name)["valueFrom"]["secretKeyRef"])


def store_refs(deployment: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Env entries that read a key of a Secret named like the store's (name -> reference)."""
    return {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container(deployment).get("env")
            or [] if "secretKeyRef" in (e.get("valueFrom") or {})
            and e["valueFrom"]["secretKeyRef"]["key"] in ("accesskey", "secretkey")}


# --- the API server ---------------------------------------------------------------------


def test_api_server_reaches_the_store(rendered: Rendered) -> None:
    expected = rendered.expected
    api = rendered.objects.get("Deployment", "ml-pipeline", NAMESPACE)
    assert value(api, "OBJECTSTORECONFIG_HOST") == expected.host
    assert value(api, "OBJECTSTORECONFIG_PORT") == expected.port
    assert value(api, "OBJECTSTORECONFIG_SECURE") == str(expected.tls).lower()
    assert value(api, "OBJECTSTORECONFIG_REGION") == expected.region
    # The bucket is the install config's, which says the administrator's bucket.
    assert env(api, "OBJECTSTORECONFIG_BUCKETNAME")["valueFrom"]["configMapKeyRef"] == {
        "name": "pipeline-install-config", "key": "bucketName"}
    if expected.keys:
        assert store_refs(api) == {
            "OBJECTSTORECONFIG_ACCESSKEY": {"name": "mlpipeline-minio-artifact",
                                            "key": "accesskey"},
            "OBJECTSTORECONFIG_SECRETACCESSKEY": {"name": "mlpipeline-minio-artifact",
                                                  "key": "secretkey"}}
    else:  # workload identity: no key at all, so the SDK's chain is used
        assert store_refs(api) == {}
        assert not env_names(api) & {"OBJECTSTORECONFIG_ACCESSKEY",
                                     "OBJECTSTORECONFIG_SECRETACCESSKEY"}


def test_api_server_trusts_the_ca_bundle_only_when_given(rendered: Rendered) -> None:
    api = rendered.objects.get("Deployment", "ml-pipeline", NAMESPACE)
    pod = api["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m for m in container(api).get("volumeMounts") or []}
    ca_volumes = [v for v in pod.get("volumes") or []
                  if (v.get("secret") or {}).get("secretName") == "kfp-object-store-ca"]
    if not rendered.expected.ca:
        assert ca_volumes == []
        assert not env_names(api) & {"SSL_CERT_FILE", "CABUNDLE_SECRET_NAME"}
        return
    [volume] = ca_volumes
    mount = mounts["/etc/kfops/object-store-ca"]
    assert mount["name"] == volume["name"] and mount["readOnly"] is True
    assert value(api, "SSL_CERT_FILE") == "/etc/kfops/object-store-ca/ca.crt"
    # KFP 2.15+ mounts this Secret into pipeline steps (driver and launcher).
    assert value(api, "CABUNDLE_SECRET_NAME") == "kfp-object-store-ca"
    assert value(api, "CABUNDLE_KEY_NAME") == "ca.crt"


def test_ca_bundle_secret_holds_the_file(rendered: Rendered) -> None:
    objects = rendered.objects
    if not rendered.expected.ca:
        assert not objects.has("Secret", "kfp-object-store-ca", NAMESPACE)
        return
    pem = (rendered.out.parent / CA_FILE).read_text()
    assert secret(objects.get("Secret", "kfp-object-store-ca", NAMESPACE), "ca.crt") == pem


# --- the UI -----------------------------------------------------------------------------


def test_ui_reads_artifacts_and_archived_logs_from_the_store(rendered: Rendered) -> None:
    expected = rendered.expected
    ui = rendered.objects.get("Deployment", "ml-pipeline-ui", NAMESPACE)
    tls = str(expected.tls).lower()
    literal = {e["name"]: e.get("value") for e in container(ui)["env"] if "value" in e}
    assert {k: literal.get(k) for k in (
        "MINIO_HOST", "MINIO_PORT", "MINIO_SSL", "MINIO_NAMESPACE", "AWS_REGION",
        "AWS_S3_ENDPOINT", "AWS_SSL", "ARGO_ARCHIVE_ARTIFACTORY", "ARGO_ARCHIVE_BUCKETNAME",
        "ARGO_ARCHIVE_LOGS")} == {
        "MINIO_HOST": expected.host, "MINIO_PORT": expected.ui_port, "MINIO_SSL": tls,
        # empty: the UI joins MINIO_HOST and MINIO_NAMESPACE with a dot when it is set
        "MINIO_NAMESPACE": "", "AWS_REGION": expected.region,
        "AWS_S3_ENDPOINT": expected.host, "AWS_SSL": tls,
        # minio: the MINIO_* client, which takes a port (AWS_* has none in KFP 2.5)
        "ARGO_ARCHIVE_ARTIFACTORY": "minio", "ARGO_ARCHIVE_BUCKETNAME": BUCKET,
        "ARGO_ARCHIVE_LOGS": "true"}
    if expected.keys:
        assert store_refs(ui) == {
            name: {"name": "mlpipeline-minio-artifact", "key": key} for name, key in (
                ("MINIO_ACCESS_KEY", "accesskey"), ("MINIO_SECRET_KEY", "secretkey"),
                ("AWS_ACCESS_KEY_ID", "accesskey"), ("AWS_SECRET_ACCESS_KEY", "secretkey"))}
    else:
        assert store_refs(ui) == {}
    names = [e["name"] for e in container(ui)["env"]]
    assert len(names) == len(set(names)), "an env name twice: the last one wins, silently"
    if expected.ca:
        assert value(ui, "NODE_EXTRA_CA_CERTS") == "/etc/kfops/object-store-ca/ca.crt"
        assert {"name": "kfops-object-store-ca", "mountPath": "/etc/kfops/object-store-ca",
                "readOnly": True} in container(ui)["volumeMounts"]
    else:
        assert "NODE_EXTRA_CA_CERTS" not in names


# --- Argo -------------------------------------------------------------------------------


def argo_repository(objects: Objects) -> dict[str, Any]:
    config = objects.get("ConfigMap", "workflow-controller-configmap", NAMESPACE)
    return dict(yaml.safe_load(config["data"]["artifactRepository"]))


def test_argo_default_repository_is_the_store(rendered: Rendered,
                                              in_cluster: dict[str, Rendered]
                                              ) -> None:
    expected = rendered.expected
    repository = argo_repository(rendered.objects)
    release_own = argo_repository(in_cluster[rendered.release].objects)
    s3 = repository["s3"]
    assert repository["archiveLogs"] is True
    # Argo's endpoint is host[:port], never a URL.
    assert s3["endpoint"] == expected.url.split("://", 1)[1]
    assert "://" not in s3["endpoint"]
    assert (s3["bucket"], s3["region"], s3["insecure"]) == (BUCKET, expected.region,
                                                          not expected.tls)
    # The release's layout of keys is kept (v1.10: artifacts/..., 26.03: private-artifacts/...).
    assert s3["keyFormat"] == release_own["s3"]["keyFormat"]
    if expected.keys:
        assert s3["accessKeySecret"] == {"name": "mlpipeline-minio-artifact", "key": "accesskey"}
        assert s3["secretKeySecret"] == {"name": "mlpipeline-minio-artifact", "key": "secretkey"}
        assert "useSDKCreds" not in s3
    else:
        assert s3["useSDKCreds"] is True
        assert not {"accessKeySecret", "secretKeySecret"} & set(s3)
    if expected.ca:
        assert s3["caSecret"] == {"name": "kfp-object-store-ca", "key": "ca.crt"}
    else:
        assert "caSecret" not in s3


# --- the launcher and the install config ------------------------------------------------


def test_kubeflow_launcher_config_points_at_the_store(rendered: Rendered) -> None:
    expected = rendered.expected
    launcher = rendered.objects.get("ConfigMap", "kfp-launcher", NAMESPACE)
    assert launcher["data"]["defaultPipelineRoot"] == f"s3://{BUCKET}/v2/artifacts"
    providers = json.loads(launcher["data"]["providers"])
    default = providers["s3"]["default"]
    assert list(providers) == ["s3"]
    # The launcher's endpoint carries its scheme (aws-sdk-go BaseEndpoint, the UI's URL()).
    assert default["endpoint"] == expected.url
    assert default["region"] == expected.region
    assert default["disableSSL"] is (not expected.tls)
    assert default["forcePathStyle"] is expected.path_style
    if expected.launcher_secret is None:
        assert default["credentials"] == {"fromEnv": True}
    else:
        assert default["credentials"] == {"fromEnv": False, "secretRef": {
            "secretName": expected.launcher_secret, "accessKeyKey": "accesskey",
            "secretKeyKey": "secretkey"}}


def test_install_config_names_the_bucket(rendered: Rendered) -> None:
    config = rendered.objects.get("ConfigMap", "pipeline-install-config", NAMESPACE)
    assert config["data"]["bucketName"] == BUCKET


# --- the profile controller -------------------------------------------------------------


def code_config_map(objects: Objects) -> dict[str, Any]:
    controller = objects.get("Deployment", PROFILE_CONTROLLER, NAMESPACE)
    [name] = [v["configMap"]["name"] for v in controller["spec"]["template"]["spec"]["volumes"]
              if "configMap" in v and v["name"] == "hooks"]
    return objects.get("ConfigMap", name, NAMESPACE)


def test_profile_controller_runs_the_hook_beside_the_release_code(
        rendered: Rendered, in_cluster: dict[str, Rendered]) -> None:
    controller = rendered.objects.get("Deployment", PROFILE_CONTROLLER, NAMESPACE)
    assert container(controller)["command"] == ["python", "/hooks/kfops_store.py"]
    code = code_config_map(rendered.objects)["data"]
    own = code_config_map(in_cluster[rendered.release].objects)["data"]
    assert set(code) == {"sync.py", "kfops_store.py"}
    assert code["kfops_store.py"] == Path(HOOK_PATH).read_text(encoding="utf-8")
    assert code["sync.py"] == own["sync.py"]  # the release's own code, unchanged


def test_profile_controller_settings_hold_no_secret(rendered: Rendered) -> None:
    expected = rendered.expected
    controller = rendered.objects.get("Deployment", PROFILE_CONTROLLER, NAMESPACE)
    settings = json.loads(value(controller, "KFOPS_OBJECT_STORE"))
    pem = (rendered.out.parent / CA_FILE).read_text() if expected.ca else None
    mode = ("fromEnv" if not expected.keys else
            "perNamespace" if rendered.variant == "perNamespace" else "shared")
    assert settings == {
        "endpoint": expected.url, "region": expected.region, "bucket": BUCKET,
        "tls": expected.tls, "pathStyle": expected.path_style, "credentials": mode,
        "secretName": "{namespace}-s3" if mode == "perNamespace" else None, "caPem": pem}
    # The release's own pointers at its store are gone: no IAM, no S3 endpoint of its own.
    assert not env_names(controller) & {"AWS_ENDPOINT_URL", "S3_ENDPOINT_URL",
                                        "OBJECT_STORE_HOST"}
    refs = {n: r for n, r in store_refs(controller).items() if n.startswith("KFOPS_")}
    if expected.keys:
        assert refs == {"KFOPS_STORE_ACCESS_KEY": {"name": "mlpipeline-minio-artifact",
                                                   "key": "accesskey"},
                        "KFOPS_STORE_SECRET_KEY": {"name": "mlpipeline-minio-artifact",
                                                   "key": "secretkey"}}
    else:
        assert store_refs(controller) == {}
        assert not env_names(controller) & {"KFOPS_STORE_ACCESS_KEY", "KFOPS_STORE_SECRET_KEY"}


def test_a_settings_change_rolls_the_store_readers(
        tmp_path_factory: pytest.TempPathFactory, shared_cache: Path, store_ca: str) -> None:
    """Programs read the store's settings and keys once, at start: the settings are in the
    pod template (env), the keys in a Secret whose digest is there: either change restarts
    the API server, the UI and the profile controller; the same settings change nothing."""
    folder = tmp_path_factory.mktemp("rolls")
    static = VARIANTS["static"]

    def templates(out: str, section: str = static,
                  key: str = SECRET_KEY) -> dict[str, dict[str, Any]]:
        done = render_variant(folder, "26.03", "static", shared_cache, store_ca,
                              section=section, secret_key=key, out=out)
        return {name: Objects(done.result).get("Deployment", name, NAMESPACE)["spec"][
            "template"] for name in ("ml-pipeline", "ml-pipeline-ui", PROFILE_CONTROLLER)}

    one, same = templates("one"), templates("same")
    moved = templates("moved", static.replace(":9443", ":9444"))
    rotated = templates("rotated", key=OTHER_SECRET_KEY)
    for name, template in one.items():
        assert template == same[name], name
        assert template != moved[name], name
        digest = template["metadata"]["annotations"].get("kfops.io/config-digest")
        assert digest is not None, name
        assert digest != rotated[name]["metadata"]["annotations"]["kfops.io/config-digest"], \
            name


def test_new_hook_code_rolls_the_profile_controller(
        tmp_path_factory: pytest.TempPathFactory, shared_cache: Path, store_ca: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook's code is in a ConfigMap the pods read at start: a new kfops's hook
    restarts the controller."""
    folder = tmp_path_factory.mktemp("code")

    def digest(out: str) -> str:
        done = render_variant(folder, "v1.10.2", "static", shared_cache, store_ca, out=out)
        controller = Objects(done.result).get("Deployment", PROFILE_CONTROLLER, NAMESPACE)
        return str(controller["spec"]["template"]["metadata"]["annotations"][
            "kfops.io/config-digest"])

    before = digest("before")
    monkeypatch.setattr(_object_store, "hook_source",
                        lambda: Path(HOOK_PATH).read_text(encoding="utf-8") + "# next\n")
    assert digest("after") != before


# --- nothing names the in-cluster store -------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_in_cluster_render_has_the_store_objects_listed(in_cluster: dict[str, Rendered],
                                                        release: str) -> None:
    """The list the scans use is the release's: every object is in its own render."""
    objects = in_cluster[release].objects
    for kind, name in STORE_OBJECTS[release] | {STORE_SECRET}:
        assert objects.has(kind, name, NAMESPACE), (kind, name)
    assert {g.secret for g in in_cluster[release].result.bundle.generated} >= {
        ("", "Secret", NAMESPACE, "mlpipeline-minio-artifact")}


@dataclass(frozen=True)
class StoreNames:
    """How the bundle could name the release's store."""

    tokens: frozenset[str]
    """Host names, Service, claim and ServiceAccount names, image references."""
    pod_labels: frozenset[tuple[str, str]]
    """Labels of the store's pods that no other pod of the release has."""
    image: str


def store_names(in_cluster: Rendered) -> StoreNames:
    objects = in_cluster.objects
    listed = STORE_OBJECTS[in_cluster.release]
    [deployment] = [objects.get(kind, name, NAMESPACE) for kind, name in listed
                    if kind == "Deployment"]
    tokens = set()
    for kind, name in listed:
        if kind == "Service":
            tokens |= {name, f"{name}.{NAMESPACE}", f"{name}.{NAMESPACE}.svc",
                       f"{name}.{NAMESPACE}.svc.cluster.local"}
        if kind in ("Service", "PersistentVolumeClaim", "ServiceAccount"):
            tokens.add(name)
    image = str(container(deployment)["image"])
    tokens |= {image, image.rsplit(":", 1)[0]}
    labels = set(deployment["spec"]["template"]["metadata"]["labels"].items())
    for obj in objects.all:
        if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet") and obj is not deployment:
            labels -= set(obj["spec"]["template"]["metadata"].get("labels", {}).items())
    return StoreNames(frozenset(tokens), frozenset(labels), image)


#: Words of host names, object names and image references (a URL's scheme and port apart).
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@:-]*[A-Za-z0-9]")


def tokens_in(text: str) -> set[str]:
    """Every name-like word of `text`, also cut at ':' and '/' (host:port, scheme://host)."""
    found = set()
    for word in _TOKEN.findall(text):
        found.add(word)
        found |= {part.strip(".") for part in re.split(r"[:/@]", word) if part}
    return found


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every string of an object: keys and values."""
    if isinstance(node, dict):
        for key, item in node.items():
            yield f"{path}.{key}", str(key)
            yield from strings(item, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from strings(item, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


def selectors(node: Any) -> Iterator[dict[str, str]]:
    """Every label selector of an object (matchLabels and plain selectors)."""
    if isinstance(node, dict):
        for key, item in node.items():
            if key in ("selector", "podSelector", "matchLabels") and isinstance(item, dict):
                plain = {k: v for k, v in item.items() if isinstance(v, str)}
                if plain:
                    yield plain
            yield from selectors(item)
    elif isinstance(node, list):
        for item in node:
            yield from selectors(item)


def bundle_files(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(out.rglob("*")) if p.is_file()}


def file_objects(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if isinstance(d, dict)]


def test_nothing_in_the_written_bundle_names_the_in_cluster_store(
        rendered: Rendered, in_cluster: dict[str, Rendered]) -> None:
    names = store_names(in_cluster[rendered.release])
    assert names.tokens and names.pod_labels  # the scan looks for something
    exceptions, found = [], []
    # A file that holds none of the names (nor a store label's value) as text cannot name
    # the store: only the others are parsed (the CRDs are large).
    needles = names.tokens | {v for _, v in names.pod_labels}
    for relative, text in bundle_files(rendered.out).items():
        if not any(needle in text for needle in needles):
            continue
        if not relative.endswith(".yaml"):
            # images.txt, kfops.lock, .gitignore: plain text
            found += [(relative, "", t) for t in tokens_in(text) & names.tokens]
            continue
        for obj in file_objects(text):
            where = f"{relative}:{obj['kind']}/{obj['metadata']['name']}"
            for path, string in strings(obj):
                hits = tokens_in(string) & names.tokens
                if hits and obj["kind"] == "ConfigMap" and path == ".data.sync.py":
                    exceptions.append(where)  # the release's code: dead defaults (below)
                elif hits:
                    found += [(where, path, t) for t in hits]
            found += [(where, "selector", str(s)) for s in selectors(obj)
                      if names.pod_labels & set(s.items())]
    assert found == []
    # The one exception: the release's own sync.py, whose defaults name its store but which
    # kfops's hook never lets reach it (tests/storage/test_pipelines_hook.py).
    code = code_config_map(rendered.objects)["metadata"]["name"]
    assert exceptions in ([], [f"30-platform/pipelines.yaml:ConfigMap/{code}"])
    if rendered.release == "26.03":
        assert exceptions, "26.03's sync.py names seaweedfs: the scan would see it"


def test_the_store_objects_are_gone_and_its_image_too(rendered: Rendered) -> None:
    objects = rendered.objects
    for kind, name in STORE_OBJECTS[rendered.release]:
        assert not objects.has(kind, name, NAMESPACE), (kind, name)
    images = (rendered.out / "images.txt").read_text().splitlines()
    assert not [i for i in images if re.search(r"/(minio|seaweedfs)[:@]", i)]
    # Not one object of the bundle runs it.
    assert not [o for o in objects.all if o["kind"] == "Deployment" and any(
        re.search(r"/(minio|seaweedfs)[:@]", c["image"]) for c in container_list(o))]


def container_list(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workload["spec"]["template"]["spec"].get("containers") or [])


@pytest.mark.parametrize("release", RELEASES)
def test_images_of_the_in_cluster_render_list_the_store(in_cluster: dict[str, Rendered],
                                                        release: str) -> None:
    """The image checks above can fail: the release's own render lists the store image."""
    images = (in_cluster[release].out / "images.txt").read_text().splitlines()
    assert [i for i in images if re.search(r"/(minio|seaweedfs)[:@]", i)]
    assert tokens_in("\n".join(images)) & store_names(in_cluster[release]).tokens


# --- the administrator's keys -----------------------------------------------------------


def forms(key: str) -> set[str]:
    return {key, base64.b64encode(key.encode()).decode()}


def test_keys_are_only_in_secret_files(rendered: Rendered) -> None:
    files = bundle_files(rendered.out)
    keys = forms(ACCESS_KEY) | forms(SECRET_KEY)
    leaked = [(path, key) for path, text in files.items() for key in keys
              if key in text and not path.startswith("secrets/")]
    assert leaked == []
    holding = {path for path, text in files.items() if any(k in text for k in keys)}
    if rendered.expected.keys:
        assert holding == {"secrets/30-platform/pipelines.yaml"}
        store = rendered.objects.get(*STORE_SECRET, NAMESPACE)
        assert (secret(store, "accesskey"), secret(store, "secretkey")) == (ACCESS_KEY,
                                                                           SECRET_KEY)
    else:
        assert holding == set()
    for obj in rendered.objects.all:
        if obj["kind"] == "Secret":
            continue
        for path, string in strings(obj):
            assert not any(k in string for k in keys), (identity_of(obj), path)


def test_from_env_leaves_no_reference_to_a_missing_secret(rendered: Rendered) -> None:
    objects = rendered.objects
    present = {(o["metadata"].get("namespace", ""), o["metadata"]["name"])
               for o in objects.all if o["kind"] == "Secret"}
    missing = []
    for obj in objects.all:
        if obj["kind"] == "CustomResourceDefinition":
            continue  # its schema describes secretKeyRef, it does not hold one
        namespace = obj["metadata"].get("namespace", "")
        for ref in secret_key_refs(obj):
            if ref.get("optional") is not True and (namespace, ref["name"]) not in present:
                missing.append((obj["kind"], obj["metadata"]["name"], ref["name"]))
    store_missing = [m for m in missing if m[2] == "mlpipeline-minio-artifact"]
    assert store_missing == []
    if not rendered.expected.keys:
        assert not objects.has(*STORE_SECRET, NAMESPACE)
        repository = argo_repository(objects)["s3"]
        assert "accessKeySecret" not in repository


def secret_key_refs(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, item in node.items():
            if key == "secretKeyRef" and isinstance(item, dict):
                yield item
            else:
                yield from secret_key_refs(item)
    elif isinstance(node, list):
        for item in node:
            yield from secret_key_refs(item)


def test_generated_values_no_longer_claim_the_store_keys(rendered: Rendered) -> None:
    """An apply adopts what the cluster holds for a generated value; the admin's keys are
    not generated, so the old in-cluster key must not be adopted over them."""
    store = ("", "Secret", NAMESPACE, "mlpipeline-minio-artifact")
    assert [g for g in rendered.result.bundle.generated if g.secret == store] == []
    lock = (rendered.out / "kfops.lock").read_text()
    assert "object-store-access-key" not in lock and "object-store-secret-key" not in lock


def test_the_render_warns_that_artifacts_are_not_copied(rendered: Rendered) -> None:
    warnings = rendered.result.bundle.warnings
    assert any("not copied" in w and rendered.expected.url in w for w in warnings)
