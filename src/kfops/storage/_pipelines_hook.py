"""The pipelines profile controller's hook, pointed at an external S3 store by kfops.

This file runs in two places. kfops ships its text in the profile controller's
code ConfigMap beside the release's own `sync.py`, and the controller runs it
(`python /hooks/kfops_store.py`): it starts the release's server and rewrites
what the release's `sync` returns for each profile namespace, so that
everything but the object store stays exactly the release's (the
visualization server of v1.10, the artifact proxy of 26.03, ...). The
release's sync is handed the namespace's store Secret as already existing,
so it never creates SeaweedFS IAM keys. kfops itself imports this module to
write the same settings into the kubeflow namespace's objects and to tell,
on a running platform, which per-namespace objects are stale.

Standard library only, Python 3.9 and newer: the controller's image is the
release's (python:3.12, alpine/k8s).
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

#: The Secret name every Kubeflow release's pipelines read their store keys from.
STORE_SECRET = "mlpipeline-minio-artifact"
#: The Secret (key ca.crt) holding the CA bundle the store's certificate chains to.
CA_SECRET = "kfp-object-store-ca"
CA_KEY = "ca.crt"
CA_DIR = "/etc/kfops/object-store-ca"
SETTINGS_ENV = "KFOPS_OBJECT_STORE"
#: Marks the per-namespace objects this hook wrote (the release's carry no such mark).
MARK = "kfops.io/object-store"
ACCESS_KEY_ENV = "KFOPS_STORE_ACCESS_KEY"
SECRET_KEY_ENV = "KFOPS_STORE_SECRET_KEY"
#: What the controller writes per namespace for the store (kind, name).
STORE_OBJECTS = (("ConfigMap", "kfp-launcher"), ("ConfigMap", "artifact-repositories"),
                 ("Secret", STORE_SECRET), ("Secret", CA_SECRET))
#: What the release's per-namespace objects are keyed by (metacontroller's attachment keys).
_SECRETS = "Secret.v1"
_KEY_FORMAT = ("private-artifacts/{namespace}/{{{{workflow.name}}}}/"
               "{{{{workflow.creationTimestamp.Y}}}}/{{{{workflow.creationTimestamp.m}}}}/"
               "{{{{workflow.creationTimestamp.d}}}}/{{{{pod.name}}}}")

Obj = dict[str, Any]


def host_port(settings: Obj) -> str:
    """The store as `host[:port]` (Argo's and the UI's form: no scheme)."""
    url = str(settings["endpoint"])
    return url.split("://", 1)[1].rstrip("/")


def port(settings: Obj) -> str:
    """The store's port: the endpoint's, else HTTPS's or HTTP's."""
    explicit = host_port(settings).partition(":")[2]
    return explicit or ("443" if settings["tls"] else "80")


def secret_name(settings: Obj, namespace: str) -> str | None:
    """The Secret holding `namespace`'s store keys; None with workload identity."""
    mode = settings["credentials"]
    if mode == "fromEnv":
        return None
    if mode == "perNamespace":
        return str(settings["secretName"]).replace("{namespace}", namespace)
    return STORE_SECRET


def pipeline_root(settings: Obj, namespace: str) -> str:
    """Where `namespace`'s v2 pipelines keep artifacts (the release's layout, on S3)."""
    return f"s3://{settings['bucket']}/private-artifacts/{namespace}/v2/artifacts"


def providers(settings: Obj, namespace: str) -> str:
    """The launcher's `providers` block (KFP backend/src/v2/config: s3.default)."""
    name = secret_name(settings, namespace)
    credentials: Obj = {"fromEnv": True} if name is None else {
        "fromEnv": False,
        "secretRef": {"secretName": name, "accessKeyKey": "accesskey",
                      "secretKeyKey": "secretkey"}}
    default = {"endpoint": settings["endpoint"], "region": settings["region"],
               "disableSSL": not settings["tls"], "forcePathStyle": settings["pathStyle"],
               "credentials": credentials}
    return json.dumps({"s3": {"default": default}}, sort_keys=True)


def artifact_repository(settings: Obj, key_format: str, secret: str | None) -> Obj:
    """Argo's `s3` artifact repository for the store (S3ArtifactRepository's fields)."""
    s3: Obj = {"endpoint": host_port(settings), "bucket": settings["bucket"],
               "region": settings["region"], "insecure": not settings["tls"],
               "keyFormat": key_format}
    if secret is None:
        s3["useSDKCreds"] = True
    else:
        s3["accessKeySecret"] = {"name": secret, "key": "accesskey"}
        s3["secretKeySecret"] = {"name": secret, "key": "secretkey"}
    if settings.get("caPem"):
        s3["caSecret"] = {"name": CA_SECRET, "key": CA_KEY}
    return {"archiveLogs": True, "s3": s3}


def ui_env(settings: Obj, secret: str | None) -> list[Obj]:
    """What the pipelines UI (and its per-namespace artifact proxy) reads the store with.

    The MINIO_* settings serve archived logs and `minio://` links (they take a
    port), the AWS_* ones `s3://` links (frontend/server/configs.ts).
    """
    host = host_port(settings).partition(":")[0]
    tls = bool(settings["tls"])
    env: list[Obj] = [
        {"name": "MINIO_HOST", "value": host},
        {"name": "MINIO_PORT", "value": port(settings)},
        {"name": "MINIO_SSL", "value": "true" if tls else "false"},
        {"name": "MINIO_NAMESPACE", "value": ""},
        {"name": "AWS_REGION", "value": settings["region"]},
        {"name": "AWS_S3_ENDPOINT", "value": host},
        {"name": "AWS_SSL", "value": "true" if tls else "false"},
        {"name": "ARGO_ARCHIVE_ARTIFACTORY", "value": "minio"},
        {"name": "ARGO_ARCHIVE_BUCKETNAME", "value": settings["bucket"]},
    ]
    if secret is not None:
        for name, key in (("MINIO_ACCESS_KEY", "accesskey"), ("MINIO_SECRET_KEY", "secretkey"),
                          ("AWS_ACCESS_KEY_ID", "accesskey"),
                          ("AWS_SECRET_ACCESS_KEY", "secretkey")):
            env.append({"name": name,
                        "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    if settings.get("caPem"):
        env.append({"name": "NODE_EXTRA_CA_CERTS", "value": f"{CA_DIR}/{CA_KEY}"})
    return env


def point_container(container: Obj, env: list[Obj]) -> None:
    """Replace `container`'s store settings (and every reference to the store Secret)."""
    names = {entry["name"] for entry in env}
    kept = [entry for entry in container.get("env") or []
            if entry["name"] not in names and not reads_store_secret(entry)]
    container["env"] = kept + copy.deepcopy(env)


def mount_ca(pod: Obj, container: Obj) -> None:
    """Mount the CA bundle Secret into `container` at CA_DIR."""
    volumes = [v for v in pod.get("volumes") or [] if v.get("name") != "kfops-object-store-ca"]
    pod["volumes"] = [*volumes, {"name": "kfops-object-store-ca",
                                 "secret": {"secretName": CA_SECRET}}]
    mounts = [m for m in container.get("volumeMounts") or []
              if m.get("name") != "kfops-object-store-ca"]
    container["volumeMounts"] = [*mounts, {"name": "kfops-object-store-ca",
                                           "mountPath": CA_DIR, "readOnly": True}]


def reads_store_secret(entry: Obj) -> bool:
    ref = (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
    return bool(ref.get("name") == STORE_SECRET)


def store_objects(settings: Obj, namespace: str, keys: dict[str, str] | None,
                  launcher_data: dict[str, str] | None = None) -> list[Obj]:
    """The objects `namespace` needs for the store: launcher and Argo config, keys, CA."""
    name = secret_name(settings, namespace)
    launcher = dict(launcher_data or {})
    launcher.update({"defaultPipelineRoot": pipeline_root(settings, namespace),
                     "providers": providers(settings, namespace)})
    key_format = _KEY_FORMAT.format(namespace=namespace)
    repositories = v1_object("ConfigMap", "artifact-repositories", namespace, data={
        "default-namespaced": json.dumps(artifact_repository(settings, key_format, name),
                                         sort_keys=True)})
    repositories["metadata"]["annotations"][
        "workflows.argoproj.io/default-artifact-repository"] = "default-namespaced"
    objects: list[Obj] = [v1_object("ConfigMap", "kfp-launcher", namespace, data=launcher),
                          repositories]
    if settings["credentials"] == "shared" and keys is not None:
        objects.append(v1_object("Secret", STORE_SECRET, namespace, data={
            "accesskey": encoded(keys["accesskey"]), "secretkey": encoded(keys["secretkey"])}))
    if settings.get("caPem"):
        objects.append(ca_secret(str(settings["caPem"]), namespace))
    return objects


def ca_secret(pem: str, namespace: str) -> Obj:
    """The Secret holding the store's CA bundle in `namespace`."""
    return v1_object("Secret", CA_SECRET, namespace, data={CA_KEY: encoded(pem)})


def rewrite(settings: Obj, namespace: str, desired: list[Obj],
            keys: dict[str, str] | None) -> list[Obj]:
    """The release's attachments for `namespace`, with the store's replaced by kfops's."""
    name = secret_name(settings, namespace)
    launcher: dict[str, str] = {}
    kept: list[Obj] = []
    for obj in copy.deepcopy(desired):
        kind, obj_name = obj.get("kind"), obj["metadata"]["name"]
        if (kind, obj_name) == ("ConfigMap", "kfp-launcher"):
            launcher = dict(obj.get("data") or {})
        if (kind, obj_name) in STORE_OBJECTS:
            continue
        if kind == "Deployment":
            _point_workload(obj, settings, name)
        kept.append(obj)
    return kept + store_objects(settings, namespace, keys, launcher)


def _point_workload(obj: Obj, settings: Obj, name: str | None) -> None:
    pod = obj["spec"]["template"]["spec"]
    for container in pod.get("containers") or []:
        if any(reads_store_secret(e) for e in container.get("env") or []):
            point_container(container, ui_env(settings, name))
            if settings.get("caPem"):
                mount_ca(pod, container)


def readiness(desired: list[Obj], attachments: dict[str, dict[str, Obj]]) -> dict[str, str]:
    """The controller's status: ready when every desired object is observed."""
    observed = {(key.split(".", 1)[0], name.split("/", 1)[-1])
                for key, objects in attachments.items() for name in objects}
    ready = all((obj["kind"], obj["metadata"]["name"]) in observed for obj in desired)
    return {"kubeflow-pipelines-ready": "True" if ready else "False"}


def v1_object(kind: str, name: str, namespace: str, data: dict[str, str]) -> Obj:
    """A ConfigMap or Secret of the store, marked as this hook's."""
    return {"apiVersion": "v1", "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "annotations": {MARK: "s3"}},
            "data": data}


def encoded(value: str) -> str:
    """Base64 of UTF-8 text (a Secret's `data`)."""
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def shared_keys(environ: Any) -> dict[str, str] | None:
    """The platform's store keys from the controller's environment (None with fromEnv)."""
    access, secret = environ.get(ACCESS_KEY_ENV), environ.get(SECRET_KEY_ENV)
    if not access or not secret:
        return None
    return {"accesskey": access, "secretkey": secret}


def wrap(server: Any, settings: Obj, keys: dict[str, str] | None) -> None:
    """Make the release's server answer with kfops's store objects."""
    handler = server.RequestHandlerClass
    release_sync = handler.sync

    def sync(self: Any, parent: Obj, attachments: dict[str, dict[str, Obj]]) -> Obj:
        namespace = parent.get("metadata", {}).get("name")
        # The release's sync creates IAM keys in its own store when the namespace has no
        # store Secret yet: it is shown one, and its answer's store objects are replaced.
        shown = copy.deepcopy(attachments)
        shown.setdefault(_SECRETS, {})[f"{namespace}/{STORE_SECRET}"] = v1_object(
            "Secret", STORE_SECRET, str(namespace), data={})
        answer = release_sync(self, parent, shown)
        if not answer.get("attachments"):
            return dict(answer)  # pipelines are not enabled in this namespace
        desired = rewrite(settings, str(namespace), answer["attachments"], keys)
        return {"status": readiness(desired, attachments), "attachments": desired}

    handler.sync = sync


def load_release_sync(path: str) -> Any:
    """The release's sync.py as a module (its `main` guard keeps it from serving)."""
    spec = importlib.util.spec_from_file_location("release_sync", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    """Serve the release's hook with kfops's store objects."""
    settings = json.loads(os.environ[SETTINGS_ENV])
    release = load_release_sync(str(Path(__file__).resolve().parent / "sync.py"))
    server = release.server_factory(**release.get_settings_from_env())
    wrap(server, settings, shared_keys(os.environ))
    print("kfops: profile controller serving with the object store at", settings["endpoint"],
          file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
