"""Database and object-store credentials generated per install instead of the release's own.

Kubeflow ships fixed values (Katib's MySQL `test`, an empty root password for
Pipelines' MySQL, `minio`/`minio123` for the object store). Every consumer
reads them from their Secret, so setting the Secret is enough, except for
Pipelines' MySQL server, which upstream runs with an empty password and
must be told the new one.
"""

from __future__ import annotations

import functools
from typing import Any

from kfops.catalog import Credential, Settings
from kfops.errors import ValidationError, ValidationProblem
from kfops.objects import describe, secret_value, set_container_secret_env, set_secret_value
from kfops.render import EditableBundle, Phase, RenderContext

from ._state import random_token


class GeneratedCredentials:
    """Replace every fixed credential the release ships with a generated one."""

    name = "credentials"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Generate each credential once (kept in the state directory) and set its Secret."""
        settings = context.catalog.settings
        for credential in settings.credentials:
            item = bundle.find(credential.secret.kind, credential.secret.name,
                               credential.secret.namespace)
            if item is None:
                continue  # its component is switched off
            value = context.state.generated(credential.state_name,
                                            functools.partial(random_token, credential.length))
            set_secret_value(bundle.edit(item), credential.key, value)
            bundle.record_generated(credential.state_name, item, credential.key,
                                    rotatable=not credential.database)
        self._database_password(bundle, settings)

    def _database_password(self, bundle: EditableBundle, settings: Settings) -> None:
        server = bundle.find(settings.pipelines_database.kind, settings.pipelines_database.name,
                             settings.pipelines_database.namespace)
        credential = next(c for c in settings.credentials
                          if c.state_name == "pipelines-mysql-password")
        if server is None:
            return
        for container in bundle.edit(server)["spec"]["template"]["spec"]["containers"]:
            env = [e for e in container.get("env") or []
                   if e.get("name") != "MYSQL_ALLOW_EMPTY_PASSWORD"]
            container["env"] = env
            set_container_secret_env(container, "MYSQL_ROOT_PASSWORD",
                                     credential.secret.name, credential.key)


class NoUpstreamCredentials:
    """The last check: nothing in a non-local bundle still holds one of Kubeflow's defaults."""

    name = "noUpstreamCredentials"
    phase = Phase.CHECKS

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Refuse the render when a Secret holds a published default value."""
        if context.loaded.platform.spec.target == "local":
            return
        problems = [
            ValidationProblem(describe(item.obj), f"data.{key}",
                              "holds Kubeflow's published default credential; kfops must "
                              "replace it (report this as a kfops bug)")
            for item in bundle.of_kind("Secret")
            for key in _keys(item.obj)
            if _is_default(item.obj, key, context.catalog.settings)
        ]
        if problems:
            raise ValidationError(problems)


def _keys(secret: dict[str, Any]) -> set[str]:
    return set(secret.get("data") or {}) | set(secret.get("stringData") or {})


def _is_default(secret: dict[str, Any], key: str, settings: Settings) -> bool:
    value = secret_value(secret, key)
    if value in (settings.upstream_oidc_client_secret, settings.upstream_cookie_secret,
                 settings.default_user_hash):
        return True
    name = secret["metadata"]["name"]
    return any(_matches(credential, name, key, value) for credential in settings.credentials)


def _matches(credential: Credential, name: str, key: str, value: str | None) -> bool:
    return (credential.secret.name, credential.key, credential.upstream_value) == (
        name, key, value)
