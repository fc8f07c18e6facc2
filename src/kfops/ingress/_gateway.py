"""How users reach the platform: the gateway Service, and an Ingress where one is wanted."""

from __future__ import annotations

from kfops.render import EditableBundle, Phase, RenderContext

METALLB_IP = "metallb.io/loadBalancerIPs"
AZURE_IP = "service.beta.kubernetes.io/azure-load-balancer-ipv4"


class GatewayService:
    """`spec.ingress`: type and annotations of istio-ingressgateway, the address to ask for."""

    name = "ingress"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Set the Service's type and annotations (upstream makes it ClusterIP)."""
        spec = context.loaded.platform.spec
        ref = context.catalog.settings.gateway_service
        service = bundle.edit(bundle.require(ref.kind, ref.name, ref.namespace))
        service["spec"]["type"] = spec.service_type
        annotations = dict(service["metadata"].get("annotations") or {})
        annotations.update(spec.ingress.annotations)
        if spec.ingress.load_balancer_ip:
            # spec.loadBalancerIP is deprecated; the implementation's annotation replaces it.
            annotations[AZURE_IP if spec.target == "aks" else METALLB_IP] = \
                spec.ingress.load_balancer_ip
        if annotations:
            service["metadata"]["annotations"] = annotations


class IngressRoute:
    """`ingress.ingressClass`: an Ingress for `host` in front of the Istio gateway."""

    name = "ingressClass"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Route `host` from an existing ingress controller to istio-ingressgateway:80."""
        spec = context.loaded.platform.spec
        if spec.ingress.ingress_class is None:
            return
        gateway = context.catalog.settings.gateway_service
        rule: dict[str, object] = {"http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": gateway.name, "port": {"number": 80}}},
        }]}}
        if spec.ingress.host:
            rule = {"host": spec.ingress.host, **rule}
        ingress: dict[str, object] = {
            "ingressClassName": spec.ingress.ingress_class, "rules": [rule]}
        if spec.tls.mode != "none" and spec.ingress.host:
            ingress["tls"] = [{"hosts": [spec.ingress.host], "secretName": spec.tls.secret_name}]
        bundle.add({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "kubeflow", "namespace": gateway.namespace},
            "spec": ingress,
        }, "ingress", "spec.ingress.ingressClass")
