"""Azure AKS: the bootstrap script for the cluster and its Karpenter (or node auto-provisioning)."""

from ._script import NodeProvisioning, aks_script, write_script

__all__ = ["NodeProvisioning", "aks_script", "write_script"]
