"""PodDefaults a profile can ask for: pipeline access and the GPU nodes' toleration."""

from __future__ import annotations

from typing import Any

from kfops.config import Taint

PIPELINE_TOKEN_DIR = "/var/run/secrets/kubeflow/pipelines"
PIPELINE_AUDIENCE = "pipelines.kubeflow.org"


def pipeline_access(namespace: str) -> dict[str, Any]:
    """A token for the Pipelines API, as Kubeflow's documentation gives it (`access-ml-pipeline`).

    The KFP SDK in a notebook finds it through KF_PIPELINES_SA_TOKEN_PATH.
    """
    return {
        "apiVersion": "kubeflow.org/v1alpha1", "kind": "PodDefault",
        "metadata": {"name": "access-ml-pipeline", "namespace": namespace},
        "spec": {
            "desc": "Allow access to Kubeflow Pipelines",
            "selector": {"matchLabels": {"access-ml-pipeline": "true"}},
            "volumes": [{"name": "volume-kf-pipeline-token", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 7200,
                                         "audience": PIPELINE_AUDIENCE}}]}}],
            "volumeMounts": [{"mountPath": PIPELINE_TOKEN_DIR,
                              "name": "volume-kf-pipeline-token", "readOnly": True}],
            "env": [{"name": "KF_PIPELINES_SA_TOKEN_PATH",
                     "value": f"{PIPELINE_TOKEN_DIR}/token"}],
        },
    }


def gpu_toleration(namespace: str, taint: Taint) -> dict[str, Any]:
    """Tolerate the taint that keeps other work off GPU nodes (spec.gpu.taint)."""
    return {
        "apiVersion": "kubeflow.org/v1alpha1", "kind": "PodDefault",
        "metadata": {"name": "gpu-toleration", "namespace": namespace},
        "spec": {
            "desc": "Run on GPU nodes",
            "selector": {"matchLabels": {"gpu-toleration": "true"}},
            "tolerations": [taint.toleration()],
        },
    }
