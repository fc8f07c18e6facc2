"""`kfops check` reaches spec.objectStore from this machine: a real S3 server (moto, over
HTTPS with a CA of the test's own, signatures checked) and Azurite for Azure Blob."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
import yaml

from kfops.cluster import Check, Cluster
from kfops.config import load_platform
from kfops.objects import secret_value
from kfops.operations import render_platform
from kfops.render import RenderOptions
from kfops.storage import _pipelines_hook as hook
from kfops.storage import rendered_settings, store_checks
from kfops.storage._azure_rest import BlobClient, decoded_key
from tests.conftest import PlatformWriter
from tests.helpers.azurite import AZURITE_ACCOUNT, Azurite, running_azurite
from tests.helpers.cli import kfops
from tests.helpers.oci import free_port
from tests.helpers.s3_server import S3Server, running_moto
from tests.helpers.tls import wrong_name_server

#: A key Azure would hand out, but not the emulator's.
OTHER_AZURE_KEY = "b3RoZXIga2V5IG9mIHNpeHR5LWZvdXIgYnl0ZXMsIG5vdCB0aGUgZW11bGF0b3IncyBrZXkhIQ=="


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_moto(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="module")
def s3_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_moto(tmp_path_factory.mktemp("moto-http"), tls=False) as server:
        yield server


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    with running_azurite(tmp_path_factory.mktemp("azurite")) as server:
        yield server


@pytest.fixture(autouse=True)
def this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, no AWS settings of the machine running the tests, no instance metadata
    (169.254.169.254 is outside loopback)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_S3", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "KFOPS_AZURE_BLOB_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


def bucket_of(s3: S3Server) -> str:
    name = f"kfops-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=name)
    return name


def s3_platform(platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                s3: S3Server, bucket: str, *, secret_key: str | None = None,
                ca: bool = True) -> Path:
    """A platform file whose store is `s3` with its keys in the environment."""
    monkeypatch.setenv("STORE_ACCESS_KEY", s3.access_key)
    monkeypatch.setenv("STORE_SECRET_KEY", secret_key or s3.secret_key)
    lines = ["  objectStore:", "    type: s3", f"    endpoint: {s3.url}", "    region: us-east-1",
             f"    bucket: {bucket}",
             "    credentials: {accessKey: {env: STORE_ACCESS_KEY}, "
             "secretKey: {env: STORE_SECRET_KEY}}"]
    if s3.ca is None:
        lines.append("    tls: false")
    elif ca:
        shutil.copy(s3.ca, tmp_path / "store-ca.pem")
        lines.append("    caBundle: {file: store-ca.pem}")
    return platform_file(spec_extra="\n".join(lines) + "\n")


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_in_cluster_store_has_nothing_to_reach(platform_file: PlatformWriter) -> None:
    assert store_checks(load_platform(platform_file())) == [
        Check("objectStore", "pass", "the release's own store; nothing to reach")]


def test_s3_over_https_with_its_ca_passes_and_leaves_no_probe(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3: S3Server) -> None:
    bucket = bucket_of(s3)
    checks = by_name(store_checks(load_platform(s3_platform(
        platform_file, tmp_path, monkeypatch, s3, bucket))))
    assert list(checks) == ["objectStore reach", "objectStore write"]
    assert checks["objectStore reach"].state == "pass"
    assert checks["objectStore reach"].detail == (
        f"bucket {bucket} at {s3.url} with the configured keys; TLS verified against caBundle "
        "store-ca.pem")
    assert checks["objectStore write"].state == "pass"
    assert checks["objectStore write"].detail.startswith(
        f"wrote, read back and deleted s3://{bucket}/kfops-probe/")
    assert "Contents" not in s3.client().list_objects_v2(Bucket=bucket)


def test_wrong_secret_key_fails_check_with_exit_1_and_no_key_printed(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3: S3Server, checked_cluster: Path) -> None:
    kubeconfig = checked_cluster
    bucket = bucket_of(s3)
    path = s3_platform(platform_file, tmp_path, monkeypatch, s3, bucket)
    code, out, _ = kfops("check", "-f", str(path), "--kubeconfig", str(kubeconfig))
    assert code == 0, out
    assert "pass objectStore write" in " ".join(out.split())

    wrong = "wrongSecretKeyWrongSecretKeyWrong0123456"
    path = s3_platform(platform_file, tmp_path, monkeypatch, s3, bucket, secret_key=wrong)
    code, out, err = kfops("check", "-f", str(path), "--kubeconfig", str(kubeconfig))
    assert code == 1
    assert (f"fail objectStore reach the keys may not read bucket {bucket} (403 Forbidden"
            in " ".join(out.split()))
    code, json_out, json_err = kfops("check", "-f", str(path), "--kubeconfig", str(kubeconfig),
                                     "-o", "json")
    assert code == 1
    rows = {r["check"]: r for r in json.loads(json_out)}
    assert rows["objectStore reach"]["state"] == "fail"
    assert "objectStore write" not in rows  # nothing to write to when the keys cannot read
    for text in (out, err, json_out, json_err):
        assert wrong not in text
        assert s3.access_key not in text
        assert s3.secret_key not in text


def test_missing_bucket_is_named(platform_file: PlatformWriter, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, s3: S3Server) -> None:
    checks = store_checks(load_platform(s3_platform(
        platform_file, tmp_path, monkeypatch, s3, "kfops-never-made")))
    assert checks == [Check("objectStore reach", "fail",
                            f"bucket kfops-never-made does not exist at {s3.url}")]


def test_without_the_ca_tls_verification_fails_and_names_ca_bundle(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3: S3Server) -> None:
    [check] = store_checks(load_platform(s3_platform(
        platform_file, tmp_path, monkeypatch, s3, bucket_of(s3), ca=False)))
    assert check.state == "fail"
    assert check.detail.startswith(f"TLS verification of {s3.url} failed: give "
                                   "spec.objectStore.caBundle")
    assert "CERTIFICATE_VERIFY_FAILED" in check.detail


def test_a_ca_that_did_not_sign_the_store_is_named(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3: S3Server, s3_http: S3Server) -> None:
    from tests.controlplane._pki import generate  # noqa: PLC0415

    path = s3_platform(platform_file, tmp_path, monkeypatch, s3, bucket_of(s3))
    shutil.copy(generate(tmp_path / "other-pki").ca, tmp_path / "store-ca.pem")
    [check] = store_checks(load_platform(path))
    assert check.detail.startswith(f"TLS verification of {s3.url} failed: its certificate does "
                                   "not chain to spec.objectStore.caBundle (store-ca.pem)")


def test_http_endpoint_with_tls_false_passes(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3_http: S3Server) -> None:
    bucket = bucket_of(s3_http)
    checks = by_name(store_checks(load_platform(s3_platform(
        platform_file, tmp_path, monkeypatch, s3_http, bucket))))
    assert checks["objectStore reach"] == Check(
        "objectStore reach", "pass",
        f"bucket {bucket} at {s3_http.url} with the configured keys; tls: false, unencrypted")
    assert checks["objectStore write"].state == "pass"


def test_a_closed_port_names_the_endpoint(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3_http: S3Server) -> None:
    closed = S3Server(f"http://127.0.0.1:{free_port()}", None, s3_http.access_key,
                      s3_http.secret_key)
    [check] = store_checks(load_platform(s3_platform(
        platform_file, tmp_path, monkeypatch, closed, "kfops-anything")))
    assert check.state == "fail"
    assert check.detail.startswith(f"cannot reach {closed.url}: ")


def test_keys_that_may_read_but_not_write_fail_the_write_step(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3: S3Server) -> None:
    bucket = bucket_of(s3)
    reader = S3Server(s3.url, s3.ca, *_key_for(s3, bucket, "s3:GetObject"))
    checks = by_name(store_checks(load_platform(s3_platform(
        platform_file, tmp_path, monkeypatch, reader, bucket))))
    assert checks["objectStore reach"].state == "pass"
    write = checks["objectStore write"]
    assert write.state == "fail"
    assert write.detail.startswith(f"put s3://{bucket}/kfops-probe/")
    assert write.detail.endswith(" failed: AccessDenied (Access Denied)")


def test_a_failed_read_still_deletes_the_probe(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3: S3Server) -> None:
    bucket = bucket_of(s3)
    writer = S3Server(s3.url, s3.ca, *_key_for(s3, bucket, "s3:PutObject", "s3:DeleteObject"))
    checks = by_name(store_checks(load_platform(s3_platform(
        platform_file, tmp_path, monkeypatch, writer, bucket))))
    write = checks["objectStore write"]
    assert write.state == "fail"
    assert write.detail.startswith(f"get s3://{bucket}/kfops-probe/")
    assert write.detail.endswith(" failed: AccessDenied (Access Denied)")
    assert "delete" not in write.detail
    assert "Contents" not in s3.client().list_objects_v2(Bucket=bucket)


def _key_for(s3: S3Server, bucket: str, *actions: str) -> tuple[str, str]:
    """A key of a user who may see `bucket` and do `actions` on its objects, nothing else."""
    import boto3  # noqa: PLC0415

    iam = boto3.client("iam", endpoint_url=s3.url, region_name="us-east-1", verify=str(s3.ca),
                       aws_access_key_id=s3.access_key, aws_secret_access_key=s3.secret_key)
    user = f"limited-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    # AWS authorises HeadBucket as s3:ListBucket; moto asks for an action named after the call.
    iam.put_user_policy(UserName=user, PolicyName="limited", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:HeadBucket"],
             "Resource": f"arn:aws:s3:::{bucket}"},
            {"Effect": "Allow", "Action": list(actions),
             "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def test_workload_identity_warns_without_keys_on_this_machine(
        platform_file: PlatformWriter, s3: S3Server) -> None:
    path = platform_file(spec_extra=(
        f"  objectStore: {{type: s3, endpoint: {s3.url}, region: us-east-1, bucket: kfops-x, "
        "credentials: {fromEnv: true}, perNamespaceCredentials: {secretName: '{namespace}-s3'}}\n"))
    assert store_checks(load_platform(path)) == [
        Check("objectStore reach", "warn",
              "workload identity: the keys exist only in the cluster's pods; kfops cannot "
              "reach the store from here"),
        Check("objectStore keys", "warn",
              "each profile namespace needs the Secret {namespace}-s3 (keys accesskey, "
              "secretkey): creating them is the administrator's; kfops checks the platform's "
              "keys only")]


def test_workload_identity_probes_with_this_machines_keys_and_says_so(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3: S3Server) -> None:
    bucket = bucket_of(s3)
    shutil.copy(str(s3.ca), tmp_path / "store-ca.pem")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    path = platform_file(spec_extra=(
        f"  objectStore: {{type: s3, endpoint: {s3.url}, region: us-east-1, bucket: {bucket}, "
        "caBundle: {file: store-ca.pem}, credentials: {fromEnv: true}}\n"))
    checks = by_name(store_checks(load_platform(path)))
    assert checks["objectStore reach"] == Check(
        "objectStore reach", "pass", f"bucket {bucket} at {s3.url} with this machine's "
                                     "credentials (env), not the pods' workload identity; TLS "
                                     "verified against caBundle store-ca.pem")
    assert checks["objectStore write"].state == "pass"


def test_workload_identity_with_a_broken_aws_profile_says_so(
        platform_file: PlatformWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "kfops-missing")
    path = platform_file(spec_extra=(
        "  objectStore: {type: s3, region: eu-west-1, bucket: kfops-x, "
        "credentials: {fromEnv: true}}\n"))
    assert store_checks(load_platform(path)) == [Check(
        "objectStore reach", "fail",
        "boto3 on this machine: The config profile (kfops-missing) could not be found")]


def test_an_unset_key_variable_fails_with_its_path(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3: S3Server) -> None:
    loaded = load_platform(s3_platform(platform_file, tmp_path, monkeypatch, s3, "kfops-x"))
    monkeypatch.delenv("STORE_SECRET_KEY")
    assert store_checks(loaded) == [Check(
        "objectStore reach", "fail",
        "spec.objectStore.credentials.secretKey: environment variable STORE_SECRET_KEY is not "
        "set")]


# Azure Blob --------------------------------------------------------------------------------

def azure_platform(platform_file: PlatformWriter, monkeypatch: pytest.MonkeyPatch,
                   azurite: Azurite, container: str, key: str | None = None) -> Path:
    monkeypatch.setenv("KFOPS_AZURE_BLOB_ENDPOINT", azurite.endpoint)
    monkeypatch.setenv("AZURE_STORAGE_KEY", key or azurite.key)
    return platform_file(spec_extra=(
        f"  objectStore: {{type: azureBlob, azureBlob: {{account: {azurite.account}, "
        f"container: {container}, key: {{env: AZURE_STORAGE_KEY}}}}}}\n"))


def container_of(azurite: Azurite) -> str:
    name = f"kfops-{uuid.uuid4().hex[:12]}"
    client = BlobClient(azurite.endpoint, azurite.account, decoded_key(azurite.key))
    assert client.request("PUT", name, "restype=container").status == 201
    return name


def test_azure_container_with_its_key_passes(
        platform_file: PlatformWriter, monkeypatch: pytest.MonkeyPatch, azurite: Azurite) -> None:
    container = container_of(azurite)
    checks = by_name(store_checks(load_platform(azure_platform(
        platform_file, monkeypatch, azurite, container))))
    assert checks["objectStore reach"] == Check(
        "objectStore reach", "pass",
        f"container {container} of {azurite.endpoint} with the account key; unencrypted (a "
        "test or emulator endpoint)")
    assert checks["objectStore write"].state == "pass"
    assert checks["objectStore write"].detail.startswith(
        f"wrote, read back and deleted blob {container}/kfops-probe/")
    listing = BlobClient(azurite.endpoint, azurite.account, decoded_key(azurite.key)).request(
        "GET", container, "restype=container&comp=list")
    assert b"kfops-probe" not in listing.body


def test_azure_wrong_key_fails_and_is_never_printed(
        platform_file: PlatformWriter, monkeypatch: pytest.MonkeyPatch, azurite: Azurite,
        checked_cluster: Path) -> None:
    kubeconfig = checked_cluster
    container = container_of(azurite)
    path = azure_platform(platform_file, monkeypatch, azurite, container, key=OTHER_AZURE_KEY)
    outputs = []
    for output in ("text", "json"):
        code, out, err = kfops("check", "-f", str(path), "--kubeconfig", str(kubeconfig),
                               "-o", output)
        assert code == 1
        outputs += [out, err]
    rows = {r["check"]: r for r in json.loads(outputs[2])}
    assert rows["objectStore reach"]["state"] == "fail"
    assert rows["objectStore reach"]["detail"].startswith(
        f"the account key may not read container {container} of {azurite.endpoint} (403 ")
    for text in outputs:
        assert OTHER_AZURE_KEY not in text
        assert azurite.key not in text


def test_azure_missing_container_is_named(
        platform_file: PlatformWriter, monkeypatch: pytest.MonkeyPatch, azurite: Azurite) -> None:
    assert store_checks(load_platform(azure_platform(
        platform_file, monkeypatch, azurite, "kfops-never-made"))) == [Check(
            "objectStore reach", "fail",
            f"container kfops-never-made does not exist (container kfops-never-made of "
            f"{azurite.endpoint})")]


def test_azure_key_that_is_not_base64_fails_without_quoting_it(
        platform_file: PlatformWriter, monkeypatch: pytest.MonkeyPatch, azurite: Azurite) -> None:
    [check] = store_checks(load_platform(azure_platform(
        platform_file, monkeypatch, azurite, "kfops-x", key="not base64!")))
    assert check == Check("objectStore reach", "fail",
                          "the account key is not base64 text (copy key1 or key2 from the "
                          "storage account's Access keys)")


def test_azure_endpoint_whose_certificate_fails_verification(
        platform_file: PlatformWriter, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with wrong_name_server(tmp_path) as (port, _, connections):
        endpoint = f"https://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        path = azure_platform(platform_file, monkeypatch, Azurite(endpoint), "kfops-x")
        [check] = store_checks(load_platform(path))
    assert connections
    assert check.state == "fail"
    assert check.detail.startswith(f"TLS verification of {endpoint} failed ([SSL: "
                                   "CERTIFICATE_VERIFY_FAILED]")
    assert check.detail.endswith("a TLS-inspecting proxy's CA can be added with SSL_CERT_FILE")


@pytest.fixture
def checked_cluster(kubeconfig: Path, cluster: Cluster) -> Path:
    """The emulator's kubeconfig, with a default StorageClass (so only the store can fail)."""
    cluster.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                   "metadata": {"name": "standard", "annotations": {
                       "storageclass.kubernetes.io/is-default-class": "true"}},
                   "provisioner": "rancher.io/local-path"})
    return kubeconfig


# --- what the rendered pieces see ------------------------------------------------------


def _client(endpoint: str, region: str, keys: tuple[str, str], ca: Path | None,
            path_style: bool) -> Any:
    """A client configured the way the launcher's `providers` and Argo's repository say."""
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=keys[0],
        aws_secret_access_key=keys[1], verify=str(ca) if ca else True,
        config=botocore.config.Config(
            s3={"addressing_style": "path" if path_style else "virtual"}, proxies={},
            retries={"max_attempts": 1}))


def test_the_rendered_launcher_and_argo_settings_reach_the_store(
        platform_file: PlatformWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        s3: S3Server) -> None:
    """The launcher (`providers`, `defaultPipelineRoot`), Argo (`artifactRepository`) and a
    profile namespace's launcher (kfops's hook) put and read artifacts on a real S3 server
    over TLS, with exactly the endpoint, region, addressing, CA and keys the render wrote."""
    bucket = bucket_of(s3)
    path = s3_platform(platform_file, tmp_path, monkeypatch, s3, bucket)
    result = render_platform(load_platform(path), RenderOptions(offline=True))
    objects = {(o.kind, o.obj["metadata"]["name"]): o.obj for o in result.bundle.objects
               if o.obj["metadata"].get("namespace") == "kubeflow"}
    ca = tmp_path / "rendered-ca.pem"
    ca.write_text(str(secret_value(objects[("Secret", hook.CA_SECRET)], hook.CA_KEY)))

    def keys_of(secret: str) -> tuple[str, str]:
        obj = objects[("Secret", secret)]
        return str(secret_value(obj, "accesskey")), str(secret_value(obj, "secretkey"))

    launcher = objects[("ConfigMap", "kfp-launcher")]["data"]
    default = json.loads(launcher["providers"])["s3"]["default"]
    assert not default["disableSSL"]
    launcher_client = _client(default["endpoint"], default["region"],
                              keys_of(default["credentials"]["secretRef"]["secretName"]), ca,
                              default["forcePathStyle"])
    root = str(launcher["defaultPipelineRoot"])
    assert root.startswith(f"s3://{bucket}/")
    key = f"{root.split('/', 3)[3]}/run-1/output.txt"
    launcher_client.put_object(Bucket=bucket, Key=key, Body=b"an artifact")

    repository = yaml.safe_load(
        objects[("ConfigMap", "workflow-controller-configmap")]["data"]["artifactRepository"])
    argo = repository["s3"]
    assert argo["caSecret"]["name"] == hook.CA_SECRET
    scheme = "http" if argo["insecure"] else "https"
    argo_client = _client(f"{scheme}://{argo['endpoint']}", argo["region"],
                          keys_of(argo["accessKeySecret"]["name"]), ca, path_style=True)
    body = argo_client.get_object(Bucket=argo["bucket"], Key=key)["Body"].read()
    assert body == b"an artifact"

    # a profile namespace's launcher, as kfops's hook writes it
    settings = rendered_settings([o.obj for o in result.bundle.objects])
    assert settings is not None
    shared = keys_of(hook.STORE_SECRET)
    team = {o["metadata"]["name"]: o for o in hook.store_objects(
        settings, "team-a", {"accesskey": shared[0], "secretkey": shared[1]})}
    team_default = json.loads(team["kfp-launcher"]["data"]["providers"])["s3"]["default"]
    team_client = _client(team_default["endpoint"], team_default["region"], shared, ca,
                          team_default["forcePathStyle"])
    team_root = team["kfp-launcher"]["data"]["defaultPipelineRoot"]
    assert team_root == f"s3://{bucket}/private-artifacts/team-a/v2/artifacts"
    team_client.put_object(Bucket=bucket, Key="private-artifacts/team-a/v2/artifacts/x",
                           Body=b"team-a's")

    # and TLS is verified: without the store's CA the same settings are refused
    with pytest.raises(botocore.exceptions.SSLError):
        _client(default["endpoint"], default["region"], shared, None,
                default["forcePathStyle"]).head_bucket(Bucket=bucket)
