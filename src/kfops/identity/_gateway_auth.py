"""The gateway's JWT check (`dex-jwt`) and the central dashboard's registration flow."""

from __future__ import annotations

from kfops.objects import set_container_env
from kfops.render import EditableBundle, Phase, RenderContext

from ._urls import internal_keys_url, issuer


class GatewayJwt:
    """The RequestAuthentication accepts Dex's tokens: same issuer, keys from inside."""

    name = "dexJwt"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Set every rule's issuer and, with a public host, the in-cluster `jwksUri`."""
        settings = context.catalog.settings
        spec = context.loaded.platform.spec
        ref = settings.jwt_authentication
        item = bundle.require(ref.kind, ref.name, ref.namespace)
        rules = bundle.edit(item)["spec"]["jwtRules"]
        for rule in rules:
            rule["issuer"] = issuer(spec, settings)
            if spec.ingress.host:
                # The gateway must not fetch keys through a public name it may not resolve
                # or trust; Dex's key set is reachable inside the cluster.
                rule["jwksUri"] = internal_keys_url(settings)


class RegistrationFlow:
    """`auth.registrationFlow`: new users create their own profile from the dashboard."""

    name = "registrationFlow"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Set the dashboard's REGISTRATION_FLOW."""
        settings = context.catalog.settings
        ref = settings.dashboard
        item = bundle.require(ref.kind, ref.name, ref.namespace)
        value = "true" if context.loaded.platform.spec.auth.registration_flow else "false"
        for container in bundle.edit(item)["spec"]["template"]["spec"]["containers"]:
            set_container_env(container, settings.registration_flow_env, value)
