"""Secure cookies of the web apps follow what the browser sees (HTTPS or plain HTTP)."""

from __future__ import annotations

from kfops.objects import set_container_env
from kfops.render import EditableBundle, Phase, RenderContext


class SecureCookies:
    """APP_SECURE_COOKIES of the Jupyter, Volumes, Tensorboards and KServe models web apps.

    Browsers drop Secure cookies sent over plain HTTP (other than to
    localhost), and the web apps' CSRF check then refuses every form, so the
    flag is on exactly when users come in over HTTPS.
    """

    name = "secureCookies"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Set the flag on every web app that is installed."""
        settings = context.catalog.settings
        secure = "true" if context.loaded.platform.spec.tls.mode != "none" else "false"
        for ref in settings.secure_cookie_apps:
            item = bundle.find(ref.kind, ref.name, ref.namespace)
            if item is None:
                continue  # its component is switched off
            for container in bundle.edit(item)["spec"]["template"]["spec"]["containers"]:
                set_container_env(container, settings.secure_cookie_env, secure)
