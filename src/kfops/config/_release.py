"""`metadata`, `spec.release`, `spec.components`: what gets rendered."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ._types import DnsLabel, ReleaseVersion, Source, Strict

#: The newest release kfops knows; the default of `spec.release.version`.
DEFAULT_RELEASE = "26.03"


class Metadata(Strict):
    """Identity of the install."""

    name: DnsLabel = Field(max_length=40)
    """Names the install: used in labels, the ApplySet parent and the state directory."""


class Release(Strict):
    """Which Kubeflow release to render, and from where."""

    version: ReleaseVersion = DEFAULT_RELEASE
    (
        "v1.10.x, v1.11.x, 26.03 or newer; "
        "a release kfops does not know is read from its example/."
    )
    source: Source | None = None
    (
        "A kubeflow/manifests checkout (path) or a release archive URL; "
        "default: the official archive."
    )
    remote_cache: Source | None = Field(None, alias="remoteCache")
    """Where remote kustomize bases (github.com/...?ref=...) are resolved; default: the
    `remote` folder of kfops's cache (~/.cache/kfops/remote)."""


class PipelinesSettings(Strict):
    """Kubeflow Pipelines, with where pipeline definitions are stored."""

    enabled: bool = True
    definitions: Literal["database", "kubernetes"] = "database"
    """database: in the pipelines database; kubernetes: as Kubernetes custom resources."""


def _pipelines_shorthand(value: Any) -> Any:
    if isinstance(value, bool):
        return {"enabled": value}
    if value is not None and not isinstance(value, dict):
        raise PydanticCustomError(
            "bool_or_mapping", "expected true or false, or a mapping {enabled, definitions}"
        )
    return value


class Components(Strict):
    """Optional components; one left out takes the release's own default (its example/)."""

    pipelines: PipelinesSettings | None = None
    katib: bool | None = None
    kserve: bool | None = None
    """KServe model serving (also installs Knative Serving, which it needs)."""
    notebooks: bool | None = None
    """Notebook controller and the Jupyter web app."""
    tensorboards: bool | None = None
    volumes: bool | None = None
    """Volumes web app and the PVC viewer controller."""
    trainer: bool | None = None
    """Trainer v2 (or training-operator v1 where the release has only that)."""
    spark_operator: bool | None = Field(None, alias="sparkOperator")
    knative_serving: bool | None = Field(None, alias="knativeServing")
    """Knative Serving and the cluster-local gateway (KServe's serverless mode needs them)."""
    knative_eventing: bool | None = Field(None, alias="knativeEventing")
    model_registry: bool | None = Field(None, alias="modelRegistry")

    _normalise_pipelines = field_validator("pipelines", mode="before")(_pipelines_shorthand)

    def chosen(self) -> dict[str, bool]:
        """The components the file sets explicitly, by their YAML name."""
        result: dict[str, bool] = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if value is None:
                continue
            key = info.alias or name
            result[key] = value.enabled if isinstance(value, PipelinesSettings) else bool(value)
        return result
