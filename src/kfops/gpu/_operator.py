"""`gpu.install: operator`: the NVIDIA GPU operator, installed by the admin with Helm.

kfops never runs Helm: it writes the chart's values and the exact command into
the bundle, applies the time-slicing ConfigMap itself, and an apply stops with
that command while the operator's CRD is missing.
"""

from __future__ import annotations

import shlex
from typing import Any

import yaml

from kfops.catalog import (
    GPU_OPERATOR_CHART,
    GPU_OPERATOR_CRD,
    GPU_OPERATOR_NAMESPACE,
    GPU_OPERATOR_REPO,
    TIME_SLICING_CONFIGMAP,
)
from kfops.config import Gpu
from kfops.render import EditableBundle, Phase, RenderContext

from ._time_slicing import time_slicing_configmap

COMPONENT = "gpuOperator"
VALUES_FILE = "helm/gpu-operator-values.yaml"
INSTALL_FILE = "helm/gpu-operator-install.sh"
RELEASE = "gpu-operator"
#: The key of the time-slicing config in the operator's ConfigMap (devicePlugin.config.default).
CONFIG_KEY = "any"
KEEP = "kfops.io/keep"


def operator_values(gpu: Gpu) -> dict[str, Any]:
    """The nvidia/gpu-operator chart values for the platform's GPU settings."""
    values: dict[str, Any] = {
        "driver": {"enabled": gpu.driver},
        "daemonsets": {"tolerations": [gpu.taint.toleration()]},
    }
    if gpu.time_slicing.replicas > 1:
        values["devicePlugin"] = {"config": {"name": TIME_SLICING_CONFIGMAP,
                                             "default": CONFIG_KEY}}
    return values


def install_command(gpu: Gpu) -> str:
    """The exact `helm upgrade --install` of the operator, values given as --set flags."""
    flags = [arg for key, value in _flatten(operator_values(gpu)) for arg in (
        "--set" if isinstance(value, bool) else "--set-string",
        f"{key}={str(value).lower() if isinstance(value, bool) else value}")]
    return f"{_REPO_ADD} && " + " ".join(shlex.quote(a) for a in [*_helm_upgrade(gpu), *flags])


def operator_crds(gpu: Gpu) -> list[dict[str, str]]:
    """The operator's CRD, which an apply needs first when Helm installs the operator."""
    if not _installs_operator(gpu):
        return []
    return [{"crd": GPU_OPERATOR_CRD, "why": "spec.gpu.install is operator",
             "fix": install_command(gpu)}]


class GpuOperator:
    """Helm values and command in the bundle, the time-slicing ConfigMap (its CRD: HelmCrds)."""

    name = COMPONENT
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Write the operator's values and command; add what kfops applies itself."""
        gpu = context.loaded.platform.spec.gpu
        if not _installs_operator(gpu):
            return
        values = operator_values(gpu)
        bundle.add_file(VALUES_FILE, "# Written by kfops render: values for "
                        f"{GPU_OPERATOR_CHART} {gpu.operator_version}.\n"
                        + yaml.safe_dump(values, sort_keys=True))
        bundle.add_file(INSTALL_FILE, _install_script(gpu))
        why = "spec.gpu.install: operator"
        # Helm creates the namespace too; kfops's copy must outlive an uninstall (keep).
        bundle.add({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": GPU_OPERATOR_NAMESPACE,
                                 "annotations": {KEEP: "the GPU operator's Helm release"}}},
                   COMPONENT, why, prereq=True)
        if gpu.time_slicing.replicas > 1:
            bundle.add(time_slicing_configmap(GPU_OPERATOR_NAMESPACE, CONFIG_KEY,
                                              gpu.time_slicing.replicas),
                       COMPONENT, why, prereq=True)


def _installs_operator(gpu: Gpu) -> bool:
    return gpu.enabled and gpu.install == "operator"


_REPO_ADD = f"helm repo add nvidia {GPU_OPERATOR_REPO} --force-update"


def _helm_upgrade(gpu: Gpu) -> list[str]:
    return ["helm", "upgrade", "--install", RELEASE, GPU_OPERATOR_CHART,
            "--namespace", GPU_OPERATOR_NAMESPACE, "--create-namespace",
            "--version", gpu.operator_version, "--wait"]


def _install_script(gpu: Gpu) -> str:
    upgrade = " ".join(shlex.quote(a) for a in _helm_upgrade(gpu))
    values = VALUES_FILE.rsplit("/", 1)[-1]
    return ("#!/usr/bin/env bash\n"
            "# Written by kfops render: installs the NVIDIA GPU operator with the values beside "
            f"this file.\nset -euo pipefail\n{_REPO_ADD}\n"
            f'{upgrade} --values "$(dirname "$0")/{values}"\n')


def _flatten(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    flat: list[tuple[str, Any]] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat += _flatten(value, f"{path}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                flat += _flatten(item, f"{path}[{index}].")
        else:
            flat.append((path, value))
    return flat
