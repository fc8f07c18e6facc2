"""The whole `platform.yaml`: `apiVersion`, `kind`, `metadata`, `spec`."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field

from ._airgap import Airgap
from ._auth import Auth
from ._customize import ExtraManifest, Patch
from ._gpu import Azure, Gpu, Karpenter
from ._network import TLS, Ingress, MetalLB
from ._release import Components, Metadata, Release
from ._storage import ObjectStore, Storage, object_store_problems
from ._tenancy import Profile
from ._types import KubernetesMinor, Strict, Text

API_VERSION = "kfops.io/v1alpha1"
Target = Literal["local", "onprem", "aks", "generic"]
TARGETS: tuple[Target, ...] = ("local", "onprem", "aks", "generic")


class Spec(Strict):
    """Everything the platform is made of; each field defaults right for `target`."""

    target: Target
    """local | onprem | aks | generic: picks defaults and preflight checks."""
    kubernetes_version: KubernetesMinor | None = Field(None, alias="kubernetesVersion")
    """Kubernetes version whose schemas `validate` uses; default: the release's tested one."""
    release: Release = Release()
    components: Components = Components()
    ingress: Ingress = Ingress()
    metallb: MetalLB | None = None
    tls: TLS = TLS()
    auth: Auth = Auth()
    storage: Storage = Storage()
    object_store: ObjectStore = Field(ObjectStore(), alias="objectStore")
    gpu: Gpu = Gpu()
    karpenter: Karpenter | None = None
    azure: Azure | None = None
    profiles: list[Profile] = []
    airgap: Airgap | None = None
    patches: list[Patch] = []
    """Your own changes to rendered objects, applied after kfops's (docs/customizing.md)."""
    extra_manifests: list[ExtraManifest] = Field([], alias="extraManifests")
    """Files, folders or URLs of your own objects, applied, inventoried and pruned with the
    rest (docs/customizing.md)."""
    allowed_paths: list[Text] = Field([], alias="allowedPaths")
    (
        "Folders outside the platform file's folder that paths in it (`{file}`, `source`, "
        "`release.source`, `remoteCache`, `patches[].path`, `extraManifests`) may point into; "
        "review every entry."
    )

    @property
    def service_type(self) -> str:
        """The gateway Service type, after the target's default."""
        if self.ingress.service_type:
            return self.ingress.service_type
        return "ClusterIP" if self.target == "local" else "LoadBalancer"


def cross_section_problems(spec: Spec) -> list[tuple[str, str]]:
    """Problems that involve more than one field, as (YAML path, message)."""
    problems: list[tuple[str, str]] = []
    if spec.tls.mode != "none" and spec.ingress.host is None:
        problems.append((
            "spec.tls.mode",
            f"mode {spec.tls.mode} needs spec.ingress.host (the name the certificate is for)",
        ))
    for section in ("karpenter", "azure"):
        if getattr(spec, section) is not None and spec.target != "aks":
            problems.append((
                f"spec.{section}", f"only for target aks (target is {spec.target})"
            ))
    if spec.ingress.load_balancer_ip and spec.service_type != "LoadBalancer":
        problems.append((
            "spec.ingress.loadBalancerIP", "needs spec.ingress.serviceType: LoadBalancer"
        ))
    problems += _auth_problems(spec)
    problems += _address_problems(spec)
    problems += _gpu_problems(spec)
    problems += object_store_problems(spec.object_store, spec.release.version)
    seen: set[str] = set()
    for index, profile in enumerate(spec.profiles):
        if profile.name in seen:
            problems.append(
                (f"spec.profiles[{index}].name", f"profile {profile.name} appears twice"))
        seen.add(profile.name)
    return problems


def _auth_problems(spec: Spec) -> list[tuple[str, str]]:
    auth = spec.auth
    problems: list[tuple[str, str]] = []
    if spec.target != "local" and not (auth.password_login and auth.users) and not auth.connectors:
        problems.append((
            "spec.auth",
            "no one could log in: Kubeflow's default user user@example.com is only kept for "
            "target local; add spec.auth.users (email and a bcrypt passwordHash, e.g. from "
            "htpasswd -nbBC 12 '' PASSWORD) or spec.auth.connectors",
        ))
    if auth.users and not auth.password_login:
        problems.append(("spec.auth.users",
                         "static users need spec.auth.passwordLogin: true"))
    if auth.connectors and spec.ingress.host is None:
        problems.append((
            "spec.auth.connectors",
            "connectors need spec.ingress.host: the identity provider sends users back to "
            "https://<host>/dex/callback",
        ))
    return problems


def _gpu_problems(spec: Spec) -> list[tuple[str, str]]:
    problems = []
    pools = spec.karpenter.node_pools if spec.karpenter else []
    for index, pool in enumerate(pools):
        if pool.gpu and not spec.gpu.enabled:
            problems.append((f"spec.karpenter.nodePools[{index}].gpu",
                             "a GPU pool needs spec.gpu.enabled: true (the device stack and "
                             "the toleration of its taint)"))
    return problems


def _address_problems(spec: Spec) -> list[tuple[str, str]]:
    wanted = spec.ingress.load_balancer_ip
    if wanted is None or spec.metallb is None:
        return []
    if any(_in_range(wanted, entry) for entry in spec.metallb.addresses):
        return []
    return [("spec.ingress.loadBalancerIP",
             f"{wanted} is not in spec.metallb.addresses, so MetalLB cannot hand it out")]


def _in_range(address: str, entry: str) -> bool:
    ip = ipaddress.ip_address(address)
    if "-" in entry:
        first, last = (ipaddress.ip_address(p.strip()) for p in entry.split("-", 1))
        return first.version == ip.version and int(first) <= int(ip) <= int(last)
    return ip in ipaddress.ip_network(entry, strict=False)


class Platform(Strict):
    """A kfops platform file."""

    api_version: Literal["kfops.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["Platform"]
    metadata: Metadata = Metadata(name="kubeflow")
    spec: Spec
