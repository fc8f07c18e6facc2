"""`spec.profiles`: one namespace per team or user."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from ._types import DnsLabel, Email, Quantity, QuotaName, Strict, quantity_value, whole_only


class Contributor(Strict):
    """Someone who may work in a profile's namespace besides its owner."""

    email: Email
    role: Literal["edit", "view"] = "edit"


def _not_reserved(name: str) -> str:
    if name == "default" or name.startswith("kube-"):
        raise PydanticCustomError(
            "reserved_name", "{name} is a namespace Kubernetes itself uses; profiles may not be "
            "named default or kube-*", {"name": name})
    return name


class Profile(Strict):
    """A Kubeflow Profile: a namespace with an owner, contributors, quota and PodDefaults."""

    name: Annotated[DnsLabel, AfterValidator(_not_reserved)]
    owner: Email
    contributors: list[Contributor] = []
    quota: dict[QuotaName, Quantity] = {}
    """ResourceQuota hard limits; extended resources (nvidia.com/gpu) become requests.<name>."""
    pod_defaults: list[Literal["pipelineAccess", "gpuToleration"]] = Field(
        [], alias="podDefaults"
    )

    @model_validator(mode="after")
    def _owner_not_contributor(self) -> Profile:
        emails = [c.email.lower() for c in self.contributors]
        if self.owner.lower() in emails:
            raise PydanticCustomError("owner", "the owner is not also listed as a contributor")
        if len(set(emails)) != len(emails):
            raise PydanticCustomError("duplicate", "a contributor is listed twice")
        for name, value in self.quota.items():
            if whole_only(name) and quantity_value(value) % 1:
                raise PydanticCustomError(
                    "quota", "quota.{name} counts objects: expected a whole number, got {value}",
                    {"name": name, "value": str(value)})
        return self
