"""Dex's static users on a running cluster: read them, and change them safely.

The users live in two objects: entries in the Dex ConfigMap's `config.yaml`
and their bcrypt hashes in the `dex-passwords` Secret (Dex reads it through
`envFrom`, each entry names its variable in `hashFromEnv`). A change reads
both, edits them, and writes each with its resourceVersion as a precondition;
when another admin wrote in between, the API server answers 409 and the change
is made again on what is there now, so no one's addition is lost. Dex reads
its config at start, so a command restarts it once, whatever it changed.

Which entries came from where is recorded on the ConfigMap: the render lists
the platform file's users in `kfops.io/file-users`, `--live` commands list
theirs in `kfops.io/live-users`; anything else was written another way (the
release's default user, another tool) and is left as it is by additions.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from kfops.catalog import DEFAULT_SETTINGS, Settings
from kfops.cluster import Cluster, WaitSettings, rollout_restart
from kfops.config import Platform, UserEntry
from kfops.errors import InputError, ObjectConflict, OperationError
from kfops.objects import secret_value

from ._dex import FILE_USERS, LIVE_USERS, RELEASE_USERS, static_entry, user_hash_env

_ATTEMPTS = 20


class NoDex(OperationError):
    """The cluster has no Dex configuration: Kubeflow is not installed there (yet)."""


def _unreadable(what: str, problem: str) -> OperationError:
    return OperationError(f"{what}: cannot read Dex's users from it: {problem}; fix it by hand "
                          "(kubectl edit), or restore it, then run kfops again (nothing was "
                          "changed)")


@dataclass(frozen=True)
class DexUser:
    """A static user as `kfops user list` shows it (never with its hash)."""

    email: str
    username: str
    source: str
    """platform-file (applied from platform.yaml), release-default (Kubeflow's default user,
    kept by the render on target local), live (kfops user add --live) or other."""


def file_users(platform: Platform) -> list[DexUser]:
    """The static users `platform` lists, as `kfops user list` shows them (the user name
    defaults to the e-mail's local part, as Dex's entry does)."""
    return [DexUser(u.email, u.username or u.email.split("@")[0], "platform-file")
            for u in platform.spec.auth.users]


@dataclass
class _Snapshot:
    """The two objects as read, and the edits a change makes to them."""

    config_map: dict[str, Any]
    secret: dict[str, Any]
    config: dict[str, Any]
    live: list[str]
    set_keys: dict[str, str] = field(default_factory=dict)
    drop_keys: set[str] = field(default_factory=set)

    @property
    def entries(self) -> list[dict[str, Any]]:
        return list(self.config.get("staticPasswords") or [])

    def file_users(self) -> set[str]:
        return self._listed(FILE_USERS)

    def source(self, email: str) -> str:
        if email.lower() in self.file_users():
            return "platform-file"
        if email.lower() in self._listed(RELEASE_USERS):
            return "release-default"
        return "live" if email.lower() in {e.lower() for e in self.live} else "other"

    def _listed(self, annotation: str) -> set[str]:
        annotations = self.config_map["metadata"].get("annotations") or {}
        return {e.lower() for e in json.loads(annotations.get(annotation) or "[]")}

    def find(self, email: str) -> dict[str, Any] | None:
        return next((e for e in self.entries if str(e.get("email", "")).lower()
                     == email.lower()), None)


class DexUsers:
    """The static users of the Dex a cluster runs (installed by kfops or by plain manifests)."""

    def __init__(self, cluster: Cluster, waits: WaitSettings | None = None,
                 settings: Settings = DEFAULT_SETTINGS) -> None:
        self._cluster = cluster
        self._waits = waits or WaitSettings(timeout=300)
        self._settings = settings

    def users(self) -> list[DexUser]:
        """Every static user, with where it came from."""
        snapshot = self._read()
        return [DexUser(str(e.get("email", "")), str(e.get("username", "")),
                        snapshot.source(str(e.get("email", ""))))
                for e in snapshot.entries]

    def live_entries(self) -> list[UserEntry]:
        """Users added with `--live`, with their hashes: what an apply keeps beside the file's."""
        try:
            snapshot = self._read()
        except NoDex:
            return []  # a first install has no live users; any other failure stops the apply
        live = {e.lower() for e in snapshot.live}
        found = []
        for entry in snapshot.entries:  # in the config's order, so a render writes it the same
            email = str(entry.get("email", ""))
            password_hash = secret_value(snapshot.secret, user_hash_env(email))
            if email.lower() in live and password_hash:
                found.append(UserEntry(email, entry.get("username"), password_hash))
        return found

    def add(self, users: Sequence[UserEntry], replace: bool = False) -> None:
        """Add users (or, with `replace`, update ones added live), then restart Dex once."""

        def edit(snapshot: _Snapshot) -> None:
            entries = snapshot.entries
            for user in users:
                existing = snapshot.find(user.email)
                if existing is not None:
                    self._check_changeable(snapshot, user.email)
                    if not replace:
                        raise InputError(f"{user.email} is already a Dex user "
                                         "(`kfops user passwd --live` changes a password)")
                    entries.remove(existing)
                entries.append(static_entry(user))
                snapshot.set_keys[user_hash_env(user.email)] = user.password_hash
                if user.email.lower() not in {e.lower() for e in snapshot.live}:
                    snapshot.live.append(user.email)
            snapshot.config["staticPasswords"] = entries

        self._change(edit)

    def set_password(self, email: str, password_hash: str) -> None:
        """Change a user's password, then restart Dex."""

        def edit(snapshot: _Snapshot) -> None:
            entry = snapshot.find(email)
            if entry is None:
                raise InputError(f"{email} is not a Dex user")
            self._check_changeable(snapshot, email)
            if "hash" in entry:
                entry["hash"] = password_hash  # an entry written the upstream way
            else:
                snapshot.set_keys[str(entry.get("hashFromEnv") or user_hash_env(email))] = \
                    password_hash
                entry["hashFromEnv"] = entry.get("hashFromEnv") or user_hash_env(email)

        self._change(edit)

    def remove(self, email: str) -> None:
        """Remove a user (its hash too, unless another entry shares it), then restart Dex."""

        def edit(snapshot: _Snapshot) -> None:
            entry = snapshot.find(email)
            if entry is None:
                raise InputError(f"{email} is not a Dex user")
            self._check_changeable(snapshot, email)
            entries = [e for e in snapshot.entries if e is not entry]
            variable = entry.get("hashFromEnv")
            if variable and not any(e.get("hashFromEnv") == variable for e in entries):
                snapshot.drop_keys.add(str(variable))
            snapshot.config["staticPasswords"] = entries
            snapshot.live[:] = [e for e in snapshot.live if e.lower() != email.lower()]

        self._change(edit)

    def _check_changeable(self, snapshot: _Snapshot, email: str) -> None:
        source = snapshot.source(email)
        if source == "platform-file":
            raise InputError(f"{email} comes from the platform file; change it there "
                             "(kfops user ... -f platform.yaml --apply), or the next apply "
                             "undoes this")
        if source == "release-default":
            raise InputError(f"{email} is Kubeflow's default user, which kfops apply writes "
                             "on target local, so the next apply would undo this; give it a "
                             f"password of your own in the platform file: kfops user add "
                             f"{email} -f platform.yaml --apply")

    def _change(self, edit: Callable[[_Snapshot], None]) -> None:
        for _ in range(_ATTEMPTS):
            snapshot = self._read()
            edit(snapshot)
            try:
                self._write(snapshot)
            except ObjectConflict:
                continue  # someone else wrote meanwhile: make the change again on theirs
            self._restart()
            return
        raise OperationError(f"Dex's config kept changing under kfops ({_ATTEMPTS} attempts); "
                             "try again")

    def _read(self) -> _Snapshot:
        ref, secret_ref = self._settings.dex_config, self._settings.dex_passwords
        config_map = self._cluster.get("v1", ref.kind, ref.name, ref.namespace)
        if config_map is None:
            raise NoDex(f"no Dex here: ConfigMap {ref.namespace}/{ref.name} not found "
                        "(is Kubeflow installed in this cluster context?)")
        secret = self._cluster.get("v1", secret_ref.kind, secret_ref.name,
                                   secret_ref.namespace) or {}
        what = f"ConfigMap {ref.namespace}/{ref.name}"
        try:
            config = yaml.safe_load((config_map.get("data") or {}).get("config.yaml") or "") or {}
            annotations = config_map["metadata"].get("annotations") or {}
            live = json.loads(annotations.get(LIVE_USERS) or "[]")
        except (yaml.YAMLError, ValueError) as error:
            # no cause: it may quote Dex's config (client secrets)
            raise _unreadable(what, str(error).splitlines()[0]) from None
        if not isinstance(config, dict) or not isinstance(config.get("staticPasswords") or [],
                                                          list) or not isinstance(live, list):
            raise _unreadable(what, "config.yaml is not a Dex configuration")
        for entry in config.get("staticPasswords") or []:
            if isinstance(entry, dict) and entry.get("hashFromEnv"):
                secret_value(secret, str(entry["hashFromEnv"]))  # an unreadable value says so now
        return _Snapshot(config_map, secret, config, [str(e) for e in live])

    def _write(self, snapshot: _Snapshot) -> None:
        """Additions to the Secret first, removals from it last: Dex never misses a hash."""
        if snapshot.set_keys:
            self._write_secret(snapshot.secret, dict(snapshot.set_keys))
        ref = self._settings.dex_config
        self._cluster.merge_patch("v1", ref.kind, ref.name, {
            "metadata": {"resourceVersion": snapshot.config_map["metadata"]["resourceVersion"],
                         "annotations": {LIVE_USERS: json.dumps(sorted(snapshot.live))}},
            "data": {"config.yaml": yaml.safe_dump(snapshot.config, sort_keys=False)},
        }, ref.namespace)
        if snapshot.drop_keys:
            self._drop_secret_keys(snapshot.drop_keys)

    def _write_secret(self, secret: dict[str, Any], values: dict[str, str | None]) -> None:
        ref = self._settings.dex_passwords
        data = {k: None if v is None else base64.b64encode(v.encode()).decode()
                for k, v in values.items()}
        if not secret:
            self._cluster.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                 "metadata": {"name": ref.name, "namespace": ref.namespace},
                                 "data": {k: v for k, v in data.items() if v is not None}})
            return
        self._cluster.merge_patch("v1", ref.kind, ref.name, {
            "metadata": {"resourceVersion": secret["metadata"]["resourceVersion"]},
            "data": data}, ref.namespace)

    def _drop_secret_keys(self, keys: set[str]) -> None:
        """Remove hashes no entry uses any more (after the config stopped naming them)."""
        ref = self._settings.dex_passwords
        for _ in range(_ATTEMPTS):
            secret = self._cluster.get("v1", ref.kind, ref.name, ref.namespace) or {}
            present = keys & set(secret.get("data") or {})
            if not present:
                return
            try:
                self._write_secret(secret, dict.fromkeys(present))
            except ObjectConflict:
                continue
            return

    def _restart(self) -> None:
        ref = self._settings.dex_deployment
        deployment = self._cluster.get("apps/v1", ref.kind, ref.name, ref.namespace)
        if deployment is None:
            raise OperationError(f"Deployment {ref.namespace}/{ref.name} not found: Dex cannot "
                                 "be restarted to read its new users")
        deployment.setdefault("apiVersion", "apps/v1")
        deployment.setdefault("kind", ref.kind)
        rollout_restart(self._cluster, deployment, self._waits,
                        _reads_passwords(deployment, self._settings.dex_passwords.name))


def _reads_passwords(deployment: dict[str, Any], secret: str) -> dict[str, Any] | None:
    """A pod-template patch adding `envFrom: dex-passwords` where Dex lacks it, else None."""
    containers = deployment["spec"]["template"]["spec"]["containers"]
    if all(any((source.get("secretRef") or {}).get("name") == secret
               for source in c.get("envFrom") or []) for c in containers[:1]):
        return None
    patched = [dict(c) for c in containers]
    patched[0]["envFrom"] = [*(patched[0].get("envFrom") or []), {"secretRef": {"name": secret}}]
    return {"spec": {"containers": patched}}
