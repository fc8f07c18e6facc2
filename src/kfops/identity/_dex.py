"""Dex: issuer, static users as `hashFromEnv` entries, connectors, the OIDC client secret.

Password hashes go into the `dex-passwords` Secret (which Dex reads via
envFrom) and connector credentials into a `dex-connectors` Secret, referenced
as `$VAR` in the connector config, which Dex expands from its environment;
the ConfigMap never holds a secret.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import yaml

from kfops.catalog import Settings
from kfops.config import Connector, SecretRef, StaticUser, UserEntry
from kfops.errors import ConfigError
from kfops.objects import secret_value, set_secret_value
from kfops.render import BundleObject, EditableBundle, Phase, RenderContext
from kfops.secrets import random_token, resolve

from ._urls import issuer, public_url

OIDC_CLIENT_SECRET = "oidc-client-secret"
FILE_USERS = "kfops.io/file-users"
LIVE_USERS = "kfops.io/live-users"
RELEASE_USERS = "kfops.io/release-users"
"""The release's default user, which kfops apply writes on target local."""


def user_hash_env(email: str) -> str:
    """The environment variable holding a static user's hash (stable per e-mail)."""
    return "KFOPS_USER_" + hashlib.sha256(email.lower().encode()).hexdigest()[:12].upper()


def user_id(email: str) -> str:
    """Dex's `userID` (the token's subject) of a static user: stable per e-mail."""
    return hashlib.sha256(email.lower().encode()).hexdigest()[:24]


class Dex:
    """`spec.auth`: users, connectors and password login in Dex; its OIDC client secret."""

    name = "dex"
    phase = Phase.SHAPE

    def __init__(self, live_users: tuple[UserEntry, ...] = ()) -> None:
        self.live_users = live_users
        """Users the cluster holds from `kfops user add --live` (kept beside the file's)."""

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Rewrite Dex's config and Secrets for this platform."""
        settings = context.catalog.settings
        spec = context.loaded.platform.spec
        _refuse_default_credentials(context)
        config_map = bundle.require(settings.dex_config.kind, settings.dex_config.name,
                                    settings.dex_config.namespace)
        config = yaml.safe_load(config_map.obj["data"]["config.yaml"])
        keep_default = spec.target == "local"
        config["issuer"] = issuer(spec, settings)
        config["enablePasswordDB"] = spec.auth.password_login
        config["staticPasswords"] = _static_passwords(config, list(spec.auth.users), settings,
                                                      keep_default)
        if not spec.auth.password_login:
            config.pop("staticPasswords")
        url = public_url(spec)
        if url:
            for client in config.get("staticClients") or []:
                uris = client.setdefault("redirectURIs", [])
                if f"{url}/oauth2/callback" not in uris:
                    uris.append(f"{url}/oauth2/callback")
        connector_env = _connectors(config, spec.auth.connectors, context, url)
        _write_config(bundle, config_map, config)
        # Where each user came from, for `kfops user list --live` and later --live edits.
        annotations = bundle.edit(config_map)["metadata"].setdefault("annotations", {})
        annotations[FILE_USERS] = json.dumps(sorted(u.email for u in spec.auth.users))
        listed = {u.email.lower() for u in spec.auth.users}
        annotations[RELEASE_USERS] = json.dumps(
            [settings.default_user] if keep_default and spec.auth.password_login
            and settings.default_user.lower() not in listed else [])
        passwords = self._passwords(bundle, settings, list(spec.auth.users), keep_default)
        changed = [config_map, passwords, self._client_secret(context, bundle)]
        if connector_env:
            changed.append(self._connector_secret(bundle, settings, connector_env))
        deployment = bundle.require(settings.dex_deployment.kind, settings.dex_deployment.name,
                                    settings.dex_deployment.namespace)
        if connector_env:
            _read_env_from(bundle.edit(deployment), settings.dex_connector_secrets)
        bundle.restart_on_change(deployment, *changed)
        # Live users join after the digest: `user add --live` restarted Dex for them already,
        # so keeping them must not restart it again.
        live = _live_only(self.live_users, spec.auth.users)
        annotations[LIVE_USERS] = json.dumps(sorted(u.email for u in live))
        if live and spec.auth.password_login:
            config["staticPasswords"] += [static_entry(user) for user in live]
            _write_config(bundle, config_map, config)
            for user in live:
                set_secret_value(bundle.edit(passwords), user_hash_env(user.email),
                                 user.password_hash)
        if keep_default:
            if json.loads(annotations[RELEASE_USERS]):  # not given a password in the file
                bundle.warn(f"target local: Kubeflow's default user {settings.default_user} "
                            "(password 12341234) can log in; any other target leaves it out")
        else:
            _leave_out_example_profile(bundle, settings)

    def _passwords(self, bundle: EditableBundle, settings: Settings,
                   users: list[StaticUser | UserEntry], keep_default: bool) -> BundleObject:
        item = bundle.require(settings.dex_passwords.kind, settings.dex_passwords.name,
                              settings.dex_passwords.namespace)
        secret = bundle.edit(item)
        if not keep_default:
            for field in ("stringData", "data"):
                values = secret.get(field)
                if isinstance(values, dict):
                    values.pop(settings.default_user_hash_env, None)
                    if not values:
                        del secret[field]  # the API server stores no empty map
        for user in users:
            set_secret_value(secret, user_hash_env(user.email), user.password_hash)
        return item

    def _client_secret(self, context: RenderContext, bundle: EditableBundle) -> BundleObject:
        ref = context.catalog.settings.dex_client
        item = bundle.require(ref.kind, ref.name, ref.namespace)
        set_secret_value(bundle.edit(item), "OIDC_CLIENT_SECRET",
                         context.state.generated(OIDC_CLIENT_SECRET, random_token))
        bundle.record_generated(OIDC_CLIENT_SECRET, item, "OIDC_CLIENT_SECRET")
        return item

    def _connector_secret(self, bundle: EditableBundle, settings: Settings,
                          values: dict[str, str]) -> BundleObject:
        secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                  "metadata": {"name": settings.dex_connector_secrets,
                                               "namespace": settings.dex_deployment.namespace}}
        for key, value in sorted(values.items()):
            set_secret_value(secret, key, value)
        bundle.add(secret, "dex", "spec.auth.connectors")
        return bundle.items[-1]


def _write_config(bundle: EditableBundle, config_map: BundleObject,
                  config: dict[str, Any]) -> None:
    bundle.edit(config_map)["data"]["config.yaml"] = yaml.safe_dump(
        config, sort_keys=False, default_flow_style=False)


def static_entry(user: StaticUser | UserEntry) -> dict[str, str]:
    """A user's `staticPasswords` entry: its hash comes from the environment (dex-passwords)."""
    return {"email": user.email, "hashFromEnv": user_hash_env(user.email),
            "username": user.username or user.email.split("@")[0],
            "userID": user_id(user.email)}


def _live_only(live: tuple[UserEntry, ...], file_users: list[StaticUser]) -> list[UserEntry]:
    """Users added with --live that the file does not list (the file wins)."""
    listed = {u.email.lower() for u in file_users}
    return [u for u in live if u.email.lower() not in listed]


def _static_passwords(config: dict[str, Any], users: list[StaticUser | UserEntry],
                      settings: Settings, keep_default: bool) -> list[dict[str, Any]]:
    entries = [e for e in config.get("staticPasswords") or []
               if keep_default or e.get("email") != settings.default_user]
    listed = {e.get("email", "").lower() for e in entries}
    for user in users:
        if user.email.lower() in listed:
            entries = [e for e in entries if e.get("email", "").lower() != user.email.lower()]
        entries.append(static_entry(user))
    return entries


def _connectors(config: dict[str, Any], connectors: list[Connector], context: RenderContext,
                url: str | None) -> dict[str, str]:
    """Dex connectors in `config`; returns the environment their `$VAR`s refer to."""
    env: dict[str, str] = {}
    entries = []
    for connector in connectors:
        settings: dict[str, Any] = {}
        prefix = "KFOPS_" + re.sub(r"[^A-Z0-9]", "_", connector.id.upper())
        if connector.client_id is not None:
            settings["clientID"] = connector.client_id
        if connector.client_secret is not None:
            name = f"{prefix}_CLIENT_SECRET"
            env[name] = resolve(connector.client_secret, context.loaded, context.state,
                                f"connector-{connector.id}")
            settings["clientSecret"] = f"${name}"
        for key, value in connector.config.items():
            if isinstance(value, dict) and set(value) in ({"env"}, {"file"}):
                name = f"{prefix}_{re.sub(r'[^A-Z0-9]', '_', key.upper())}"
                env[name] = resolve(SecretRef.model_validate(value), context.loaded,
                                    context.state, f"connector-{connector.id}-{key}")
                settings[key] = f"${name}"
            else:
                settings[key] = value
        if url and connector.type != "ldap":
            settings["redirectURI"] = f"{url}/dex/callback"
        entries.append({"type": connector.type, "id": connector.id, "name": connector.name,
                        "config": settings})
    if entries:
        config["connectors"] = entries
    return env


def _read_env_from(deployment: dict[str, Any], secret: str) -> None:
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        sources = container.setdefault("envFrom", [])
        if {"secretRef": {"name": secret}} not in sources:
            sources.append({"secretRef": {"name": secret}})


def _refuse_default_credentials(context: RenderContext) -> None:
    """Kubeflow's default password is never shipped as a user's hash, on any target."""
    settings = context.catalog.settings
    loaded = context.loaded
    problems = [
        loaded.problem(("spec", "auth", "users", index, "passwordHash"),
                       "this is Kubeflow's published default password (12341234); "
                       "set a password of your own (htpasswd -nbBC 12 '' PASSWORD)")
        for index, user in enumerate(loaded.platform.spec.auth.users)
        if user.password_hash.replace("$2b$", "$2y$") == settings.default_user_hash
    ]
    if problems:
        raise ConfigError(problems)


def _leave_out_example_profile(bundle: EditableBundle, settings: Settings) -> None:
    profile = bundle.find(settings.example_profile.kind, settings.example_profile.name,
                          settings.example_profile.namespace)
    if profile is not None:
        bundle.remove(profile)


def dex_password_hash(secret: dict[str, Any], email: str) -> str | None:
    """The hash a static user's entry reads (for checks and `kfops user`)."""
    return secret_value(secret, user_hash_env(email))
