"""Pipelines' artifacts in an external S3 store (`spec.objectStore.type: s3`).

Every piece that reads or writes artifacts is pointed at the store: the API
server, the UI (and its archived logs), Argo's default artifact repository,
the kubeflow namespace's launcher config, and the profile controller, whose
hook kfops wraps so that each profile namespace gets the same settings
(`_pipelines_hook`). The release's store is left out but for its claim, which
prune keeps like all data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from kfops.catalog import PIPELINES_BUCKET_KEY, PIPELINES_CONFIG
from kfops.config import ObjectStore
from kfops.errors import RenderError
from kfops.objects import set_container_env, set_container_secret_env, set_secret_value
from kfops.render import BundleObject, EditableBundle, Phase, RenderContext
from kfops.secrets import resolve

from . import _pipelines_hook as hook
from ._ca_bundle import ca_bundle_pem
from ._in_cluster_store import InClusterStore, find_in_cluster_store

#: The objects of Kubeflow Pipelines kfops points at the store (all in its namespace).
API_SERVER = "ml-pipeline"
UI = "ml-pipeline-ui"
PROFILE_CONTROLLER = "kubeflow-pipelines-profile-controller"
ARGO_CONFIG = "workflow-controller-configmap"
HOOK_FILE = "kfops_store.py"
#: The release's own hook settings that point at its store.
_RELEASE_STORE_ENV = ("AWS_ENDPOINT_URL", "S3_ENDPOINT_URL", "OBJECT_STORE_HOST")
#: KFP's API server takes a CA bundle for the driver and launcher from 2.15 on.
_CA_FOR_RUNS = (2, 15)


def hook_settings(store: ObjectStore, ca_pem: str | None) -> dict[str, Any]:
    """What the profile controller's hook is told about the store (nothing secret)."""
    credentials = store.credentials
    mode = "fromEnv" if credentials is not None and credentials.from_env else "shared"
    if store.per_namespace_credentials is not None:
        mode = "perNamespace"
    return {"endpoint": store.url, "region": store.signing_region,
            "bucket": store.bucket, "tls": store.tls, "pathStyle": store.path_style,
            "credentials": mode,
            "secretName": (store.per_namespace_credentials.secret_name
                           if store.per_namespace_credentials else None),
            "caPem": ca_pem}


def hook_source() -> str:
    """The hook's text, as shipped in the profile controller's code ConfigMap."""
    return Path(hook.__file__).read_text(encoding="utf-8")


class ExternalObjectStore:
    """Point Kubeflow Pipelines at the S3 store of `spec.objectStore`."""

    name = "objectStore"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Leave the release's store out and point every reader and writer at this one."""
        store = context.loaded.platform.spec.object_store
        if store.type != "s3":
            return
        found = find_in_cluster_store(bundle)
        if found is None:
            if any(item.obj["metadata"]["name"] == API_SERVER
                   for item in bundle.of_kind("Deployment")):
                raise RenderError("Kubeflow Pipelines is installed but kfops found no object "
                                  "store Deployment (MinIO or SeaweedFS) to replace")
            return  # Pipelines is switched off: nothing keeps artifacts
        namespace = str(found.deployment.obj["metadata"]["namespace"])
        settings = hook_settings(store, ca_bundle_pem(context.loaded, store))
        _leave_out(bundle, found)
        keys = _platform_keys(context, bundle, store, namespace)
        shared = None if keys is None else hook.STORE_SECRET
        # the kubeflow namespace's pieces use the platform's keys, never a team's
        platform = {**settings, "credentials": "fromEnv" if keys is None else "shared"}
        if settings["caPem"]:
            bundle.add(hook.ca_secret(settings["caPem"], namespace), "pipelines",
                       "spec.objectStore.caBundle")
        _point_api_server(bundle, namespace, settings, store.aws, shared)
        _point_ui(bundle, namespace, settings, shared)
        _point_argo(bundle, namespace, settings, shared)
        _point_launcher(bundle, namespace, platform)
        _point_install_config(bundle, namespace, store)
        _point_profile_controller(bundle, namespace, settings, shared)
        _restart_readers(bundle, namespace)
        bundle.warn(
            "objectStore: artifacts already in the in-cluster store are not copied to "
            f"{store.url}; its volume is kept (docs/object-store.md: moving artifacts)")
        version = _kfp_version(bundle, namespace)
        if settings["caPem"] and version < _CA_FOR_RUNS:
            bundle.warn(
                "objectStore: caBundle: KFP before 2.15 gives pipeline steps no CA bundle "
                "setting kfops can use; the API server, UI and Argo trust it, the launcher "
                "only if the step's image does")
        if keys is None and version >= _CA_FOR_RUNS:
            bundle.warn(
                "objectStore: credentials fromEnv: KFP 2.15 and newer's API server refuses "
                "to start without static keys (kubeflow/pipelines#12508); kfops could not "
                "check whether this release fixed it")


def _leave_out(bundle: EditableBundle, found: InClusterStore) -> None:
    for item in found.objects:
        bundle.remove(item)


def _platform_keys(context: RenderContext, bundle: EditableBundle, store: ObjectStore,
                   namespace: str) -> dict[str, str] | None:
    """Set the platform's store Secret to the administrator's keys (None: fromEnv, no Secret)."""
    secret = bundle.find("Secret", hook.STORE_SECRET, namespace)
    credentials = store.credentials
    assert credentials is not None  # checked with the platform file
    if secret is not None:
        # The in-cluster store's generated keys are not this store's: nothing to adopt.
        bundle.forget_generated(secret)
    if credentials.from_env:
        if secret is not None:
            bundle.remove(secret)
        return None
    assert credentials.access_key is not None and credentials.secret_key is not None
    keys = {"accesskey": resolve(credentials.access_key, context.loaded, context.state,
                                 "object-store-access-key"),
            "secretkey": resolve(credentials.secret_key, context.loaded, context.state,
                                 "object-store-secret-key")}
    if secret is None:
        raise RenderError(f"the release has no Secret {namespace}/{hook.STORE_SECRET} for the "
                          "object store's keys")
    obj = bundle.edit(secret)
    for key, value in keys.items():
        set_secret_value(obj, key, value)
    return keys


def _containers(bundle: EditableBundle, name: str, namespace: str) -> tuple[BundleObject,
                                                                            dict[str, Any]]:
    item = bundle.require("Deployment", name, namespace)
    return item, bundle.edit(item)["spec"]["template"]["spec"]


def _point_api_server(bundle: EditableBundle, namespace: str, settings: dict[str, Any],
                      aws: bool, secret: str | None) -> None:
    _, pod = _containers(bundle, API_SERVER, namespace)
    container = pod["containers"][0]
    host, _, explicit_port = hook.host_port(settings).partition(":")
    tls = bool(settings["tls"])
    values = {"OBJECTSTORECONFIG_HOST": host,
              # AWS is reached by name only, as upstream's env/aws overlay does
              "OBJECTSTORECONFIG_PORT": "" if aws and not explicit_port else hook.port(settings),
              "OBJECTSTORECONFIG_SECURE": "true" if tls else "false",
              "OBJECTSTORECONFIG_REGION": str(settings["region"])}
    for name, value in values.items():
        set_container_env(container, name, value)
    if secret is None:
        container["env"] = [e for e in container["env"] if not hook.reads_store_secret(e)]
    if settings["caPem"]:
        hook.mount_ca(pod, container)
        set_container_env(container, "SSL_CERT_FILE", f"{hook.CA_DIR}/{hook.CA_KEY}")
        set_container_env(container, "CABUNDLE_SECRET_NAME", hook.CA_SECRET)
        set_container_env(container, "CABUNDLE_KEY_NAME", hook.CA_KEY)


def _point_ui(bundle: EditableBundle, namespace: str, settings: dict[str, Any],
              secret: str | None) -> None:
    _, pod = _containers(bundle, UI, namespace)
    container = pod["containers"][0]
    hook.point_container(container, hook.ui_env(settings, secret))
    if settings["caPem"]:
        hook.mount_ca(pod, container)


def _point_argo(bundle: EditableBundle, namespace: str, settings: dict[str, Any],
                secret: str | None) -> None:
    config = bundle.require("ConfigMap", ARGO_CONFIG, namespace)
    data = bundle.edit(config).setdefault("data", {})
    current = yaml.safe_load(data.get("artifactRepository") or "") or {}
    key_format = (current.get("s3") or {}).get("keyFormat") or (
        "private-artifacts/{{workflow.namespace}}/{{workflow.name}}/"
        "{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/"
        "{{workflow.creationTimestamp.d}}/{{pod.name}}")
    data["artifactRepository"] = yaml.safe_dump(
        hook.artifact_repository(settings, key_format, secret), sort_keys=True)


def _point_launcher(bundle: EditableBundle, namespace: str, settings: dict[str, Any]) -> None:
    launcher = bundle.find("ConfigMap", "kfp-launcher", namespace)
    if launcher is None:
        return  # v1.10's launcher reads the API server's default root in this namespace
    data = bundle.edit(launcher).setdefault("data", {})
    data["defaultPipelineRoot"] = f"s3://{settings['bucket']}/v2/artifacts"
    data["providers"] = hook.providers(settings, namespace)


def _point_install_config(bundle: EditableBundle, namespace: str, store: ObjectStore) -> None:
    config = bundle.require("ConfigMap", PIPELINES_CONFIG, namespace)
    bundle.edit(config).setdefault("data", {})[PIPELINES_BUCKET_KEY] = store.bucket


def _point_profile_controller(bundle: EditableBundle, namespace: str,
                              settings: dict[str, Any], secret: str | None) -> None:
    _, pod = _containers(bundle, PROFILE_CONTROLLER, namespace)
    code = _code_config_map(bundle, pod, namespace)
    bundle.edit(code).setdefault("data", {})[HOOK_FILE] = hook_source()
    container = pod["containers"][0]
    container["command"] = ["python", f"/hooks/{HOOK_FILE}"]
    env = [e for e in container.get("env") or [] if e["name"] not in _RELEASE_STORE_ENV]
    if secret is None:
        # v1.10's sync reads MINIO_* at start; with workload identity there is no key to read
        env = [{"name": e["name"], "value": ""} if hook.reads_store_secret(e) else e
               for e in env]
    container["env"] = env
    set_container_env(container, hook.SETTINGS_ENV, json.dumps(settings, sort_keys=True))
    if secret is not None:
        for name, key in ((hook.ACCESS_KEY_ENV, "accesskey"), (hook.SECRET_KEY_ENV, "secretkey")):
            set_container_secret_env(container, name, secret, key)


def _restart_readers(bundle: EditableBundle, namespace: str) -> None:
    """The API server, the UI and the profile controller read the keys and the CA once, at
    start: their pods restart when either changes (the controller's also when its code does).
    The keys are the administrator's, not generated, so nothing else rolls them."""
    secrets = [item for name in (hook.STORE_SECRET, hook.CA_SECRET)
               if (item := bundle.find("Secret", name, namespace)) is not None]
    for name in (API_SERVER, UI, PROFILE_CONTROLLER):
        deployment, pod = _containers(bundle, name, namespace)
        code = [_code_config_map(bundle, pod, namespace)] if name == PROFILE_CONTROLLER else []
        bundle.restart_on_change(deployment, *code, *secrets)


def _code_config_map(bundle: EditableBundle, pod: dict[str, Any],
                     namespace: str) -> BundleObject:
    for volume in pod.get("volumes") or []:
        name = (volume.get("configMap") or {}).get("name")
        if name:
            item = bundle.find("ConfigMap", name, namespace)
            if item is not None and "sync.py" in (item.obj.get("data") or {}):
                return item
    raise RenderError("the pipelines profile controller mounts no ConfigMap with sync.py; "
                      "kfops cannot point its namespaces at the object store")


def _kfp_version(bundle: EditableBundle, namespace: str) -> tuple[int, int]:
    config = bundle.find("ConfigMap", PIPELINES_CONFIG, namespace)
    version = str(((config.obj.get("data") or {}) if config else {}).get("appVersion", ""))
    parts = version.lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return (0, 0)
