"""`kfops check`: what the cluster must offer before an apply (version, storage, LoadBalancer).

Each check passes, warns (the install works but something needs attention) or
fails (the install would not work); the GPU checks live in kfops.gpu.
"""

from __future__ import annotations

from pathlib import Path

from kfops.catalog import DEFAULT_CLASS_ANNOTATION, NFS_STORAGE_CLASS, supported_kubernetes
from kfops.cluster import Check, Cluster
from kfops.config import LoadedPlatform

#: What Kubeflow's manifests README asks of kind/k3d hosts (many pods watch many files).
INOTIFY_LIMITS = {"max_user_instances": 2280, "max_user_watches": 1255360}
_LB_CONTROLLER_CRDS = ("ipaddresspools.metallb.io", "ciliumloadbalancerippools.cilium.io")
_CLOUD_PROVIDERS = ("azure://", "aws://", "gce://", "openstack://", "vsphere://")


def environment_checks(loaded: LoadedPlatform, cluster: Cluster,
                       proc: Path = Path("/proc/sys/fs/inotify")) -> list[Check]:
    """Kubernetes version, storage, LoadBalancer and (kind/k3d hosts) inotify limits."""
    spec = loaded.platform.spec
    checks = [kubernetes_check(cluster, spec.release.version), storage_check(loaded, cluster)]
    if spec.service_type == "LoadBalancer":
        checks.append(load_balancer_check(loaded, cluster))
    if spec.ingress.ingress_class is not None:
        checks.append(ingress_class_check(spec.ingress.ingress_class, cluster))
    if spec.target == "local":
        checks.append(inotify_check(proc))
    return checks


def kubernetes_check(cluster: Cluster, release: str) -> Check:
    """The API server's version is within the range the release was tested with."""
    version = cluster.server_version()
    tested = supported_kubernetes(release)
    if tested is None:
        return Check("kubernetes", "warn", f"{version}; release {release} is not in kfops's "
                                           "catalog, so its tested range is unknown")
    low, high = tested
    detail = f"{version} (release {release} is tested on {low} to {high})"
    if _minor(version) < _minor(low):
        return Check("kubernetes", "fail", f"{detail}: too old for the release's APIs")
    if _minor(version) > _minor(high):
        return Check("kubernetes", "warn", f"{detail}: newer than tested")
    return Check("kubernetes", "pass", detail)


def storage_check(loaded: LoadedPlatform, cluster: Cluster) -> Check:
    """A default StorageClass (or the one spec.storage names) for Kubeflow's volumes."""
    storage = loaded.platform.spec.storage
    if storage.nfs is not None:
        return Check("storage", "pass", f"kfops installs the NFS provisioner ({NFS_STORAGE_CLASS},"
                                        f" default) for {storage.nfs.server}:{storage.nfs.path}")
    classes = {c["metadata"]["name"]: c for c in cluster.list("storage.k8s.io/v1",
                                                               "StorageClass")}
    defaults = sorted(name for name, c in classes.items() if _is_default(c))
    wanted = storage.default_storage_class
    if wanted is not None:
        if wanted not in classes:
            return Check("storage", "fail", f"StorageClass {wanted} (spec.storage."
                                            "defaultStorageClass) does not exist; there are: "
                                            + (", ".join(sorted(classes)) or "none"))
        if wanted not in defaults:
            return Check("storage", "fail", f"StorageClass {wanted} is not the default "
                                            f"(annotation {DEFAULT_CLASS_ANNOTATION}: \"true\")")
        return Check("storage", "pass", f"{wanted} is the default StorageClass")
    if not defaults:
        return Check("storage", "fail", "no default StorageClass: Kubeflow's volumes (Pipelines' "
                                        "database and artifacts, Katib) would stay Pending; "
                                        "set spec.storage.nfs or mark a class default")
    if len(defaults) > 1:
        return Check("storage", "warn", "several default StorageClasses: "
                                        + ", ".join(defaults))
    return Check("storage", "pass", f"{defaults[0]} is the default StorageClass")


def load_balancer_check(loaded: LoadedPlatform, cluster: Cluster) -> Check:
    """Something gives LoadBalancer Services an address (the gateway's stays pending without)."""
    spec = loaded.platform.spec
    if spec.metallb is not None:
        return Check("load-balancer", "pass", "kfops installs MetalLB (spec.metallb)")
    served = [name for name in _LB_CONTROLLER_CRDS if cluster.has_crd(name)]
    if served:
        return Check("load-balancer", "pass", f"a LoadBalancer controller is installed "
                                              f"(CRD {served[0]})")
    providers = {str(n.get("spec", {}).get("providerID", "")).split("://")[0] + "://"
                 for n in cluster.list("v1", "Node")}
    cloud = sorted(p for p in providers if p in _CLOUD_PROVIDERS)
    if cloud:
        return Check("load-balancer", "pass", f"the nodes run on a cloud ({cloud[0]}), whose "
                                              "controller provides load balancers")
    addressed = [s["metadata"]["name"] for s in cluster.list("v1", "Service")
                 if s.get("spec", {}).get("type") == "LoadBalancer"
                 and (s.get("status") or {}).get("loadBalancer", {}).get("ingress")]
    if addressed:
        return Check("load-balancer", "pass", f"Service {addressed[0]} has a LoadBalancer "
                                              "address")
    return Check("load-balancer", "fail", "nothing gives LoadBalancer Services an address here "
                                          "(no cloud provider, MetalLB or Cilium LB IPAM): set "
                                          "spec.metallb.addresses or spec.ingress.serviceType")


def ingress_class_check(name: str, cluster: Cluster) -> Check:
    """The IngressClass the platform's Ingress names exists (its controller is installed)."""
    classes = sorted(c["metadata"]["name"] for c in cluster.list("networking.k8s.io/v1",
                                                                  "IngressClass"))
    if name in classes:
        return Check("ingress-class", "pass", f"IngressClass {name} exists")
    return Check("ingress-class", "warn", f"no IngressClass {name} (spec.ingress.ingressClass): "
                                          "install its ingress controller (e.g. ingress-nginx), "
                                          "or the Ingress kfops writes gets no address; there "
                                          "are: " + (", ".join(classes) or "none"))


def inotify_check(proc: Path) -> Check:
    """This host's inotify limits, which kind and k3d clusters share with it."""
    low = []
    for name, wanted in INOTIFY_LIMITS.items():
        try:
            value = int((proc / name).read_text().strip())
        except (OSError, ValueError):
            return Check("inotify", "warn", f"cannot read {proc / name}; Kubeflow on kind/k3d "
                                            "needs " + _sysctl_advice())
        if value < wanted:
            low.append(f"{name} {value} < {wanted}")
    if low:
        return Check("inotify", "warn", f"{'; '.join(low)}: pods on kind/k3d fail with "
                                        f"'too many open files'; run {_sysctl_advice()}")
    return Check("inotify", "pass", "inotify limits are high enough for kind/k3d")


def _sysctl_advice() -> str:
    return " && ".join(f"sudo sysctl fs.inotify.{name}={value}"
                       for name, value in INOTIFY_LIMITS.items())


def _is_default(storage_class: dict[str, object]) -> bool:
    metadata = storage_class.get("metadata") or {}
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return str((annotations or {}).get(DEFAULT_CLASS_ANNOTATION, "")).lower() == "true"


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)
