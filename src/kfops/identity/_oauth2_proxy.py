"""oauth2-proxy: issuer and redirect on the public host, cookie flags, generated secrets.

The Deployment reads the client and cookie secrets from a Secret and the
cookie-secure flag from a ConfigMap (both with kustomize hash suffixes), so
they are found through its env references rather than by name.
"""

from __future__ import annotations

import re
from typing import Any

from kfops.config import Spec
from kfops.objects import container_env, set_secret_value
from kfops.render import BundleObject, EditableBundle, Phase, RenderContext
from kfops.secrets import random_token

from ._dex import OIDC_CLIENT_SECRET
from ._urls import browser_uses_https, issuer, public_url

COOKIE_SECRET = "oauth2-proxy-cookie-secret"


class OAuth2Proxy:
    """Keep oauth2-proxy in step with Dex and with what the browser sees."""

    name = "oauth2Proxy"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Set issuer, redirect URL, cookie-secure, client and cookie secrets."""
        settings = context.catalog.settings
        spec = context.loaded.platform.spec
        ref = settings.oauth2_proxy
        deployment = bundle.require(ref.kind, ref.name, ref.namespace)
        container = deployment.obj["spec"]["template"]["spec"]["containers"][0]
        secrets = _referenced(bundle, container, "OAUTH2_PROXY_CLIENT_SECRET", "secretKeyRef",
                              ref.namespace)
        set_secret_value(bundle.edit(secrets[0]), secrets[1],
                         context.state.generated(OIDC_CLIENT_SECRET, random_token))
        bundle.record_generated(OIDC_CLIENT_SECRET, secrets[0], secrets[1])
        cookie = _referenced(bundle, container, "OAUTH2_PROXY_COOKIE_SECRET", "secretKeyRef",
                             ref.namespace)
        # 32 letters and digits decode as base64url to 24 bytes: an AES-192 key, as required.
        set_secret_value(bundle.edit(cookie[0]), cookie[1],
                         context.state.generated(COOKIE_SECRET, random_token))
        bundle.record_generated(COOKIE_SECRET, cookie[0], cookie[1])
        secure = _referenced(bundle, container, "OAUTH2_PROXY_COOKIE_SECURE", "configMapKeyRef",
                             ref.namespace)
        bundle.edit(secure[0])["data"][secure[1]] = "true" if browser_uses_https(spec) else "false"
        config = self._config(bundle, ref.namespace, settings.oauth2_proxy_config_key)
        text = config.obj["data"][settings.oauth2_proxy_config_key]
        bundle.edit(config)["data"][settings.oauth2_proxy_config_key] = _rewrite(
            text, spec, issuer(spec, settings))
        bundle.restart_on_change(deployment, secrets[0], cookie[0], secure[0], config)

    def _config(self, bundle: EditableBundle, namespace: str | None, key: str) -> BundleObject:
        for item in bundle.of_kind("ConfigMap"):
            metadata = item.obj["metadata"]
            if metadata.get("namespace") == namespace and key in (item.obj.get("data") or {}):
                return item
        return bundle.require("ConfigMap", f"(with key {key})", namespace)


def _referenced(bundle: EditableBundle, container: dict[str, Any], env: str, kind: str,
                namespace: str | None) -> tuple[BundleObject, str]:
    """(the Secret or ConfigMap an env var reads, the key it reads)."""
    entry = container_env(container, env) or {}
    reference = (entry.get("valueFrom") or {}).get(kind) or {}
    target = "Secret" if kind == "secretKeyRef" else "ConfigMap"
    item = bundle.require(target, str(reference.get("name", f"(read by {env})")), namespace)
    return item, str(reference.get("key"))


def _rewrite(text: str, spec: Spec, issuer_url: str) -> str:
    """oauth2_proxy.cfg with the issuer (and, with a host, the absolute redirect URL)."""
    settings = {"oidc_issuer_url": f'"{issuer_url}"'}
    url = public_url(spec)
    if url:
        settings["redirect_url"] = f'"{url}/oauth2/callback"'
        settings["relative_redirect_url"] = "false"
    for key, value in settings.items():
        line = f"{key} = {value}"
        pattern = re.compile(rf"^{key}\s*=.*$", re.MULTILINE)
        text = pattern.sub(line, text) if pattern.search(text) else f"{text.rstrip()}\n{line}\n"
    return text
