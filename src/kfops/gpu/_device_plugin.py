"""`gpu.install: devicePlugin`: NVIDIA's static device-plugin DaemonSet, applied by kfops."""

from __future__ import annotations

from typing import Any

from kfops.catalog import TIME_SLICING_CONFIGMAP
from kfops.config import Gpu
from kfops.errors import RenderError
from kfops.objects import set_container_env
from kfops.render import EditableBundle, Phase, RenderContext

from ._time_slicing import time_slicing_configmap

COMPONENT = "gpuDevicePlugin"
CONFIG_DIR = "/etc/nvidia-device-plugin"
CONFIG_KEY = "config.yaml"
_VOLUME = "time-slicing-config"


class DevicePlugin:
    """The DaemonSet from `gpu.source`, tolerating `gpu.taint`, sharing GPUs when asked."""

    name = COMPONENT
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Add the manifest's objects to 20-prereqs, adjusted to the platform's GPU settings."""
        gpu = context.loaded.platform.spec.gpu
        if not gpu.enabled or gpu.install != "devicePlugin":
            return
        objects = context.sources.documents(gpu.source)
        daemonsets = [o for o in objects if o.get("kind") == "DaemonSet"]
        if len(daemonsets) != 1:
            raise RenderError(f"{gpu.source} (spec.gpu.source) holds {len(daemonsets)} "
                              "DaemonSets; expected NVIDIA's device plugin, exactly one")
        daemonset = daemonsets[0]
        daemonset["metadata"].setdefault("namespace", "kube-system")
        _tolerate(daemonset, gpu)
        for container in daemonset["spec"]["template"]["spec"]["containers"]:
            # Without a GPU the plugin exits and the DaemonSet never gets ready; NVIDIA's
            # switch for mixed clusters makes it wait idle on nodes without one instead.
            set_container_env(container, "FAIL_ON_INIT_ERROR", "false")
        sharing = gpu.time_slicing.replicas > 1
        if sharing:
            objects.append(time_slicing_configmap(_namespace(daemonset), CONFIG_KEY,
                                                  gpu.time_slicing.replicas))
            _mount_config(daemonset)
        for obj in objects:
            bundle.add(obj, COMPONENT, "spec.gpu.install: devicePlugin", prereq=True)
        if sharing:
            # The plugin reads its config file at start: a new replica count restarts it.
            bundle.restart_on_change(
                bundle.require("DaemonSet", daemonset["metadata"]["name"], _namespace(daemonset)),
                bundle.require("ConfigMap", TIME_SLICING_CONFIGMAP, _namespace(daemonset)))


def _namespace(daemonset: dict[str, Any]) -> str:
    return str(daemonset["metadata"]["namespace"])


def _tolerate(daemonset: dict[str, Any], gpu: Gpu) -> None:
    """Replace the manifest's toleration of the GPU taint key with one for exactly gpu.taint."""
    pod = daemonset["spec"]["template"]["spec"]
    kept = [t for t in pod.get("tolerations") or [] if t.get("key") != gpu.taint.key]
    pod["tolerations"] = [*kept, gpu.taint.toleration()]


def _mount_config(daemonset: dict[str, Any]) -> None:
    """Mount the time-slicing ConfigMap and point the plugin at it (CONFIG_FILE)."""
    pod = daemonset["spec"]["template"]["spec"]
    pod.setdefault("volumes", []).append(
        {"name": _VOLUME, "configMap": {"name": TIME_SLICING_CONFIGMAP}})
    for container in pod["containers"]:
        container.setdefault("volumeMounts", []).append(
            {"name": _VOLUME, "mountPath": CONFIG_DIR, "readOnly": True})
        set_container_env(container, "CONFIG_FILE", f"{CONFIG_DIR}/{CONFIG_KEY}")
