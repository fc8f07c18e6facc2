"""MetalLB from its own manifest, and an address pool for the gateway's LoadBalancer."""

from __future__ import annotations

from kfops.catalog import METALLB_NAMESPACE
from kfops.render import EditableBundle, Phase, RenderContext

POOL = "kubeflow"


class MetalLB:
    """`spec.metallb`: MetalLB in 20-prereqs (CRDs in 00-crds) and its pool."""

    name = "metallb"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Add MetalLB's objects, an IPAddressPool and an L2Advertisement."""
        spec = context.loaded.platform.spec.metallb
        if spec is None:
            return
        platform = context.loaded.platform.spec
        if platform.service_type != "LoadBalancer" and platform.ingress.ingress_class is None:
            # MetalLB may serve an ingress controller the administrator installed; with no
            # ingressClass named, nothing in this platform asks for one of its addresses.
            bundle.warn(f"spec.metallb: the gateway Service is {platform.service_type} and no "
                        "spec.ingress.ingressClass is set, so no Service of this platform "
                        "asks MetalLB for an address")
        for obj in context.sources.documents(spec.source):
            bundle.add(obj, "metallb", "spec.metallb", prereq=True)
        # A separate component: MetalLB's webhook checks these, so they go after it is ready.
        bundle.add({
            "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": POOL, "namespace": METALLB_NAMESPACE},
            "spec": {"addresses": list(spec.addresses)},
        }, "metallbPool", "spec.metallb.addresses", prereq=True)
        bundle.add({
            "apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement",
            "metadata": {"name": POOL, "namespace": METALLB_NAMESPACE},
            "spec": {"ipAddressPools": [POOL]},
        }, "metallbPool", "spec.metallb.addresses", prereq=True)
