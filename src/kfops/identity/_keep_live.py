"""An apply keeps the Dex users that `kfops user add --live` adds while it runs.

The render puts the live users it read at its start into Dex's ConfigMap and
into the `dex-passwords` Secret. An apply takes minutes; had it written those
two objects as rendered, a user added live meanwhile would be lost. Their
guards (kfops.cluster.Guard) redo the live part from what the cluster holds
just before the write, and the engine writes with the resourceVersion read,
so a live change in between makes it read and redo again.

The file's users are the render's; only the live ones are taken from the
cluster: the live ConfigMap's `kfops.io/live-users` annotation says who they
are, its entries what Dex shows, the live Secret their hashes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from kfops.catalog import DEFAULT_SETTINGS, Settings
from kfops.cluster import Cluster, Guard
from kfops.objects import Identity, identity_of, secret_value, set_secret_value

from ._dex import FILE_USERS, LIVE_USERS, user_hash_env


def live_user_guards(cluster: Cluster, objects: list[dict[str, Any]],
                     settings: Settings = DEFAULT_SETTINGS) -> dict[Identity, Guard]:
    """Guards of Dex's ConfigMap and `dex-passwords` Secret, when the bundle has both."""
    config_ref, secret_ref = settings.dex_config, settings.dex_passwords
    found = {identity_of(o): o for o in objects}
    config_id = ("", config_ref.kind, config_ref.namespace or "", config_ref.name)
    secret_id = ("", secret_ref.kind, secret_ref.namespace or "", secret_ref.name)
    if config_id not in found or secret_id not in found:
        return {}
    rendered_config = found[config_id]

    def fresh_passwords(rendered: dict[str, Any],
                        live: dict[str, Any] | None) -> dict[str, Any]:
        live_config = cluster.get("v1", config_ref.kind, config_ref.name, config_ref.namespace)
        return passwords_with_live_users(rendered, rendered_config, live, live_config)

    return {config_id: Guard(config_with_live_users),
            secret_id: Guard(fresh_passwords)}


def config_with_live_users(rendered: dict[str, Any],
                           live: dict[str, Any] | None) -> dict[str, Any]:
    """The rendered Dex ConfigMap with the live users the cluster's holds now."""
    now = _live_entries(live, rendered)
    if live is None or now == _live_entries(rendered, rendered):
        return rendered
    updated = copy.deepcopy(rendered)
    config = yaml.safe_load(updated["data"]["config.yaml"]) or {}
    if "staticPasswords" in config:  # password login is on
        was_live = _names(rendered, LIVE_USERS)
        config["staticPasswords"] = [
            *(e for e in config["staticPasswords"] if _email(e) not in was_live), *now]
        updated["data"]["config.yaml"] = yaml.safe_dump(config, sort_keys=False,
                                                        default_flow_style=False)
    updated["metadata"]["annotations"][LIVE_USERS] = json.dumps(sorted(
        str(e.get("email")) for e in now))
    return updated


def passwords_with_live_users(rendered: dict[str, Any], rendered_config: dict[str, Any],
                              live: dict[str, Any] | None,
                              live_config: dict[str, Any] | None) -> dict[str, Any]:
    """The rendered `dex-passwords` with the hashes of the users live now, as the cluster
    holds them (a `user passwd --live` meanwhile included)."""
    if live is None or live_config is None or not _password_login(rendered_config):
        return rendered
    updated = copy.deepcopy(rendered)
    file_users = _names(rendered_config, FILE_USERS)
    for email in _names(rendered_config, LIVE_USERS) - file_users:
        (updated.get("data") or {}).pop(user_hash_env(email), None)
    for entry in _live_entries(live_config, rendered_config):
        variable = str(entry.get("hashFromEnv") or user_hash_env(_email(entry)))
        value = secret_value(live, variable)
        if value is not None:
            set_secret_value(updated, variable, value)
    return updated


def _live_entries(config_map: dict[str, Any] | None,
                  rendered: dict[str, Any]) -> list[dict[str, Any]]:
    """Entries of users added live, in the config's order; the file's users win."""
    if config_map is None:
        return []
    live = _names(config_map, LIVE_USERS) - _names(rendered, FILE_USERS)
    config = yaml.safe_load((config_map.get("data") or {}).get("config.yaml") or "") or {}
    return [e for e in config.get("staticPasswords") or [] if _email(e) in live]


def _password_login(config_map: dict[str, Any]) -> bool:
    config = yaml.safe_load(config_map["data"]["config.yaml"]) or {}
    return "staticPasswords" in config


def _names(config_map: dict[str, Any], annotation: str) -> set[str]:
    annotations = (config_map.get("metadata") or {}).get("annotations") or {}
    return {str(e).lower() for e in json.loads(annotations.get(annotation) or "[]")}


def _email(entry: dict[str, Any]) -> str:
    return str(entry.get("email", "")).lower()
