"""NVIDIA's time-slicing configuration: each GPU advertised `replicas` times."""

from __future__ import annotations

from typing import Any

import yaml

from kfops.catalog import GPU_RESOURCE, TIME_SLICING_CONFIGMAP


def time_slicing_config(replicas: int) -> str:
    """The device plugin's config file (`version: v1`, sharing.timeSlicing.resources)."""
    config = {"version": "v1", "sharing": {"timeSlicing": {"resources": [
        {"name": GPU_RESOURCE, "replicas": replicas}]}}}
    return yaml.safe_dump(config, sort_keys=False)


def time_slicing_configmap(namespace: str, key: str, replicas: int) -> dict[str, Any]:
    """The ConfigMap holding that file under `key`."""
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": TIME_SLICING_CONFIGMAP, "namespace": namespace},
        "data": {key: time_slicing_config(replicas)},
    }
