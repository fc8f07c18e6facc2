"""Which cluster to talk to: kubeconfig files found and merged as kubectl does, one context chosen.

kubectl's rules
(https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/):

- `--kubeconfig FILE`: that file only, nothing merged;
- else `$KUBECONFIG`, a list of files (`:`-separated; `;` on Windows): empty entries
  and files that do not exist are skipped; the first file to set a cluster,
  user or context of a name wins it whole, and `current-context` comes from the
  first file that sets one;
- else `~/.kube/config`;
- with no kubeconfig at all, the pod's service account (kfops running in a cluster).

lightkube's `KubeConfig.from_env` reads `$KUBECONFIG` as one file name and
prefers the service account over it, so kfops loads the files itself. Relative
file references (certificate-authority, client-certificate, client-key,
tokenFile, an exec command with a `/`) are resolved against the file that holds
them, as client-go does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import yaml
from lightkube import KubeConfig
from lightkube.config.kubeconfig import SingleConfig
from lightkube.config.models import Cluster, User
from lightkube.core.exceptions import ConfigError

from kfops.errors import KubeconfigError

_SECTIONS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))
_FILE_FIELDS = {"cluster": ("certificate-authority",),
                "user": ("client-certificate", "client-key", "tokenFile")}


@dataclass(frozen=True)
class Chosen:
    """The context kfops talks to, and where it was read (for messages)."""

    config: SingleConfig
    source: str
    """The kubeconfig file(s), or "in-cluster service account"."""

    @property
    def server(self) -> str:
        """The API server's URL."""
        return str(self.config.cluster.server)

    @property
    def origin(self) -> str:
        """`https://host:6443 (context lab, kubeconfig ~/.kube/config)`."""
        return f"{self.server} (context {self.config.context_name}, kubeconfig {self.source})"


def choose(kubeconfig: Path | None, context: str | None) -> Chosen:
    """The context `context` (default: the current one) of the kubeconfig kubectl would use."""
    files = _files(kubeconfig)
    if not files:
        return _in_cluster(context)
    merged = merge([_read(path) for path in files])
    source = os.pathsep.join(str(p) for p in files)
    return Chosen(_select(merged, context, source, files[0]), source)


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """One kubeconfig from several, by kubectl's rule: the first to set a name or a value wins."""
    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": []}
    for document in documents:
        for section, _ in _SECTIONS:
            known = {entry["name"] for entry in merged[section]}
            for entry in document.get(section) or []:
                if entry["name"] not in known:
                    known.add(entry["name"])
                    merged[section].append(entry)
        if document.get("current-context") and not merged.get("current-context"):
            merged["current-context"] = document["current-context"]
    return merged


def _files(kubeconfig: Path | None) -> list[Path]:
    if kubeconfig is not None:
        if not kubeconfig.is_file():
            raise KubeconfigError(f"--kubeconfig {kubeconfig}: no such file")
        return [kubeconfig]
    listed = os.environ.get("KUBECONFIG", "")
    if listed:
        # kubectl skips missing files of the list (one may be a cluster not set up yet).
        return [Path(p).expanduser() for p in listed.split(os.pathsep)
                if p and Path(p).expanduser().is_file()]
    default = Path("~/.kube/config").expanduser()
    return [default] if default.is_file() else []


def _read(path: Path) -> dict[str, Any]:
    """One kubeconfig file, its relative file references made absolute."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise KubeconfigError(f"kubeconfig {path} cannot be read: {error}") from error
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        # No cause: it holds or quotes the text, with the tokens and keys of the kubeconfig.
        raise KubeconfigError(f"kubeconfig {path} cannot be read: {error}") from None
    if not isinstance(document, dict) or not all(
            isinstance(document.get(section) or [], list) for section, _ in _SECTIONS):
        raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig (clusters, users and "
                              "contexts are lists)")
    for section, key in _SECTIONS:
        for entry in document.get(section) or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                    or not isinstance(entry.get(key) or {}, dict):
                raise KubeconfigError(f"kubeconfig {path}: every entry of {section} needs a "
                                      f"name and a {key} mapping")
            _resolve(entry.setdefault(key, {}) or {}, key, path.parent)
    return document


def _resolve(entry: dict[str, Any], key: str, base: Path) -> None:
    for name in _FILE_FIELDS.get(key, ()):
        value = entry.get(name)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            entry[name] = str(base / value)
    command = (entry.get("exec") or {}).get("command") if key == "user" else None
    if isinstance(command, str) and "/" in command and not Path(command).is_absolute():
        entry["exec"]["command"] = str(base / command)


def _select(merged: dict[str, Any], context: str | None, source: str,
            first: Path) -> SingleConfig:
    try:
        config = KubeConfig.from_dict(merged, fname=first)
    except (msgspec.ValidationError, KeyError, TypeError) as error:
        # msgspec's adds nothing: its message is here
        raise KubeconfigError(f"kubeconfig {source} is not valid: {error}") from None
    contexts = ", ".join(sorted(config.contexts)) or "none"
    name = context or config.current_context
    if name is None:
        raise KubeconfigError(f"kubeconfig {source} has no current-context: choose one with "
                              f"--context (it has: {contexts})")
    if name not in config.contexts:
        flag = "--context" if context else "current-context"
        raise KubeconfigError(f"{flag} {name}: kubeconfig {source} has no such context "
                              f"(it has: {contexts})")
    chosen = config.contexts[name]
    if chosen.cluster not in config.clusters:
        raise KubeconfigError(f"context {name} of kubeconfig {source} names cluster "
                              f"{chosen.cluster}, which it does not define")
    if chosen.user and chosen.user not in config.users:
        raise KubeconfigError(f"context {name} of kubeconfig {source} names user "
                              f"{chosen.user}, which it does not define")
    # A context without a user is anonymous access (kubectl allows it; lightkube needs a User).
    user = config.users[chosen.user] if chosen.user else User()
    return SingleConfig(context_name=name, context=chosen,
                        cluster=_with_scheme(config.clusters[chosen.cluster], user),
                        user=user, fname=first)


def _with_scheme(cluster: Cluster, user: User) -> Cluster:
    """`host:port` as client-go reads it: https when TLS is configured, else http."""
    if "://" in cluster.server:
        return cluster
    tls = any((cluster.certificate_auth, cluster.certificate_auth_data, cluster.insecure,
               user.client_cert, user.client_cert_data))
    return msgspec.structs.replace(cluster, server=("https://" if tls else "http://")
                                   + cluster.server)


def _in_cluster(context: str | None) -> Chosen:
    if context is not None:
        raise KubeconfigError(f"--context {context}: no kubeconfig found ($KUBECONFIG, "
                              "~/.kube/config)")
    try:
        config = KubeConfig.from_service_account()
    except (ConfigError, KeyError) as error:  # no token file, or no KUBERNETES_SERVICE_HOST
        raise KubeconfigError("no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or write "
                              f"~/.kube/config (not in a pod either: {error})") from error
    single = config.get()
    assert single is not None  # from_service_account sets the current context
    return Chosen(single, "in-cluster service account")
