"""`kfops check` of the ingress: something gives the gateway an address; the IngressClass exists."""

from __future__ import annotations

from kfops.cluster import Check, Cluster
from kfops.config import LoadedPlatform

_LB_CONTROLLER_CRDS = ("ipaddresspools.metallb.io", "ciliumloadbalancerippools.cilium.io")
_CLOUD_PROVIDERS = ("azure://", "aws://", "gce://", "openstack://", "vsphere://")


def ingress_checks(loaded: LoadedPlatform, cluster: Cluster) -> list[Check]:
    """A LoadBalancer controller (when the gateway is one) and the Ingress's class (when set)."""
    spec = loaded.platform.spec
    checks = []
    if spec.service_type == "LoadBalancer":
        checks.append(load_balancer_check(loaded, cluster))
    if spec.ingress.ingress_class is not None:
        checks.append(ingress_class_check(spec.ingress.ingress_class, cluster))
    return checks


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
