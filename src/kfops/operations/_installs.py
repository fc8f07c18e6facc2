"""Which install a command acts on when no platform file names it: the cluster's own record."""

from __future__ import annotations

from kfops.cluster import Cluster, installs
from kfops.errors import ClusterError, InputError
from kfops.objects import ApplySet


def installed_applyset(cluster: Cluster, name: str | None = None) -> ApplySet:
    """The kfops install called `name`, or the only one on the cluster.

    Read from the ApplySet parents (Secrets `kfops-<name>` in kube-system), so
    `status` and `uninstall` work without the platform file.
    """
    found = installs(cluster)
    names = ", ".join(t.platform for t in found)
    if name is not None:
        for applyset in found:
            if applyset.platform == name:
                return applyset
        raise InputError(f"--name {name}: no kfops install of that name on this cluster "
                           + (f"(it holds: {names})" if found else "(it holds none)"))
    if not found:
        raise ClusterError("no kfops install on this cluster (no ApplySet parent Secret "
                           "kfops-<name> in kube-system); pass -f FILE if this is the wrong "
                           "cluster context")
    if len(found) > 1:
        raise InputError(f"this cluster holds {len(found)} kfops installs ({names}); "
                         "name one with --name, or pass its platform file with -f")
    return found[0]
