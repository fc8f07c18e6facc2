"""`kfops aks script`: an idempotent bash script that creates the AKS cluster from `spec.azure`.

It follows karpenter-provider-azure's self-hosted installation (cluster with
Azure CNI overlay, Cilium, OIDC issuer and workload identity; a managed
identity for Karpenter with a federated credential and three roles on the node
resource group; Karpenter from its Helm chart), or creates the cluster with AKS
node auto-provisioning instead. Every create is preceded by a check, so a
re-run after a failure continues where it stopped. The script holds no secret:
the node bootstrap token Karpenter needs is read from the cluster at run time
into a private temporary file.
"""

from __future__ import annotations

import shlex
from importlib import resources
from pathlib import Path
from typing import Literal

from kfops.catalog import KARPENTER_CHART, KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT
from kfops.config import KARPENTER_VERSION, LoadedPlatform
from kfops.errors import ConfigError, InputError

NodeProvisioning = Literal["karpenter", "auto"]
KARPENTER_IDENTITY = "karpentermsi"
FEDERATED_CREDENTIAL = "KARPENTER_FID"
KARPENTER_ROLES = ("Virtual Machine Contributor", "Network Contributor",
                   "Managed Identity Operator")

def write_script(path: Path, text: str) -> None:
    """Write the script `text` to `path`, executable; InputError naming the path if it
    cannot be written."""
    try:
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror}") from error


def aks_script(loaded: LoadedPlatform, node_provisioning: NodeProvisioning = "karpenter") -> str:
    """The bootstrap script for `spec.azure` (self-hosted Karpenter, or node auto-provisioning)."""
    spec = loaded.platform.spec
    if spec.azure is None:
        raise ConfigError([loaded.problem(
            ("spec",), "kfops aks script needs spec.azure (subscriptionId, resourceGroup, "
                       "clusterName, location) and target: aks")])
    azure = spec.azure
    karpenter = node_provisioning == "karpenter"
    text = _filled("aks-cluster.sh",
        platform=shlex.quote(loaded.platform.metadata.name), cluster=shlex.quote(
            azure.cluster_name),
        how="self-hosted Karpenter" if karpenter else "AKS node auto-provisioning",
        subscription=shlex.quote(azure.subscription_id), group=shlex.quote(azure.resource_group),
        location=shlex.quote(azure.location), needs=", helm" if karpenter else "",
        tools="az kubectl helm" if karpenter else "az kubectl",
        cluster_flags="--node-count 3" if karpenter else "--node-provisioning-mode Auto",
    )
    if not karpenter:
        return text
    return text + "\n" + _filled("aks-karpenter.sh",
        version=shlex.quote(KARPENTER_VERSION), namespace=KARPENTER_NAMESPACE,
        service_account=KARPENTER_SERVICE_ACCOUNT, identity=KARPENTER_IDENTITY,
        credential=FEDERATED_CREDENTIAL, chart=KARPENTER_CHART,
        roles=" ".join(shlex.quote(r) for r in KARPENTER_ROLES),
    )


def _filled(script: str, **values: str) -> str:
    """A script template of the package with each @NAME@ replaced by its value.

    Values are checked by the platform model (Azure's naming rules) and quoted
    with shlex.quote; a line break is refused here as well, because a value also
    lands in the script's comments, where quoting does not hold.
    """
    text = (resources.files("kfops.aks") / "scripts" / script).read_text(encoding="utf-8")
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            raise InputError(f"kfops aks script: {name} holds a line break; nothing was written")
        text = text.replace(f"@{name.upper()}@", value)
    return text
