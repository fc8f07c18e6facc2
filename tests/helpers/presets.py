"""Render the `kfops init` starter files with their placeholders filled, on upstream releases."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kfops.config import PLACEHOLDER, load_platform
from kfops.operations import render_platform
from kfops.render import RenderOptions, RenderResult
from kfops.targets import starter_text
from tests.conftest import MANIFESTS, REMOTE_CACHE, UPSTREAM

FILLED = {
    "the DNS name users open, e.g. kubeflow.example.com": "kubeflow.example.com",
    "free addresses on the node network, e.g. 192.168.1.240-192.168.1.250":
        "192.168.1.240-192.168.1.250",
    "NFS server name or address": "10.0.0.5",
    "exported path, e.g. /srv/kubeflow": "/srv/kubeflow",
    "contact e-mail for Let's Encrypt": "ops@example.com",
    "client ID of your GitHub OAuth app": "github-client-id",
    "your GitHub organisation": "my-org",
    "application (client) ID of your Entra app registration": "entra-client-id",
    "https://login.microsoftonline.com/TENANT-ID/v2.0":
        "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
    "Azure subscription ID": "00000000-0000-0000-0000-000000000000",
    "Azure region, e.g. japaneast": "japaneast",
    "a DNS label unique in the region": "my-kubeflow",
    "the first user's e-mail": "admin@example.com",
    "bcrypt hash of the first user's password":
        "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFr4LCP9UeYRf09v1pKzIxe",
}


def fill(text: str) -> str:
    """A starter with every placeholder value replaced by a realistic one."""

    def value(match: re.Match[str]) -> str:
        found = PLACEHOLDER.match(match.group(1))
        assert found is not None
        return FILLED[found.group("what")]

    return "\n".join(
        line if line.lstrip().startswith("#")
        else re.sub(r'"(<fill in: [^"]*>)"', lambda m: f'"{value(m)}"', line)
        for line in text.splitlines()
    ) + "\n"


def offline(text: str, release: str) -> str:
    """Point a filled starter at the upstream snapshot (release, remote bases, prerequisites)."""
    text = text.replace(
        '  release:\n    version: "26.03"\n',
        f'  release:\n    version: "{release}"\n    source: {MANIFESTS / release}\n'
        f"    remoteCache: {REMOTE_CACHE}\n", 1)
    text = text.replace(
        "\n    addresses:",
        f"\n    source: {UPSTREAM / 'prereqs/metallb-v0.16.1/metallb-native.yaml'}\n    addresses:")
    text = text.replace(
        "  karpenter:\n",
        f"  karpenter:\n    crds: {UPSTREAM / 'crds/karpenter-provider-azure-v1.14.2'}\n", 1)
    return text.replace(
        '      path: "/srv/kubeflow"\n',
        '      path: "/srv/kubeflow"\n'
        f"      source: {UPSTREAM / 'prereqs/nfs-subdir-external-provisioner-v4.0.2'}\n")


def render_preset(folder: Path, target: str, release: str,
                  edit: Callable[[str], str] = lambda text: text) -> RenderResult:
    """Render the filled starter of `target` for `release` from `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "platform.yaml"
    path.write_text(edit(offline(fill(starter_text(target)), release)))
    return render_platform(load_platform(path), RenderOptions(offline=True))


class Objects:
    """The objects of a render, looked up by kind, namespace and name."""

    def __init__(self, result: RenderResult) -> None:
        self.all = [item.obj for item in result.bundle.objects]
        self.by_key = {(o["kind"], o["metadata"].get("namespace") or "", o["metadata"]["name"]): o
                       for o in self.all}

    def get(self, kind: str, name: str, namespace: str = "") -> dict[str, Any]:
        """The object, or a KeyError naming it."""
        return self.by_key[(kind, namespace, name)]

    def has(self, kind: str, name: str, namespace: str = "") -> bool:
        """Whether the bundle holds the object."""
        return (kind, namespace, name) in self.by_key

    def starting(self, kind: str, prefix: str, namespace: str) -> dict[str, Any]:
        """The object whose name starts with `prefix` (kustomize's hashed names)."""
        [found] = [o for (k, ns, n), o in self.by_key.items()
                   if k == kind and ns == namespace and n.startswith(prefix)]
        return found


def secret(obj: dict[str, Any], key: str) -> str:
    """A Secret's value, from `data` or `stringData`."""
    if key in (obj.get("stringData") or {}):
        return str(obj["stringData"][key])
    return base64.b64decode(obj["data"][key]).decode()


def env(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    """The env entry `name` of a Deployment's first container."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return next(e for e in container.get("env", []) if e["name"] == name)
