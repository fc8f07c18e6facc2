"""Starter files: every target parses once its placeholders are filled; local renders as is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kfops.config import PLACEHOLDER, parse_platform
from kfops.targets import starter_text

FILLED = {
    "the DNS name users open, e.g. kubeflow.example.com": "kubeflow.example.com",
    "free addresses on the node network, e.g. 192.168.1.240-192.168.1.250":
        "192.168.1.240-192.168.1.250",
    "NFS server name or address": "10.0.0.5",
    "exported path, e.g. /srv/kubeflow": "/srv/kubeflow",
    "contact e-mail for Let's Encrypt": "ops@example.com",
    "client ID of your GitHub OAuth app": "abc",
    "your GitHub organisation": "my-org",
    "application (client) ID of your Entra app registration": "11111111-2222",
    "https://login.microsoftonline.com/TENANT-ID/v2.0":
        "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
    "Azure subscription ID": "00000000-0000-0000-0000-000000000000",
    "Azure region, e.g. japaneast": "japaneast",
    "the first user's e-mail": "admin@example.com",
    "bcrypt hash of the first user's password":
        "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFr4LCP9UeYRf09v1pKzIxe",
}


def fill(text: str) -> str:
    def value(match: re.Match[str]) -> str:
        return FILLED[PLACEHOLDER.match(match.group(1)).group("what")]  # type: ignore[union-attr]

    return "\n".join(
        line if line.lstrip().startswith("#")
        else re.sub(r'"(<fill in: [^"]*>)"', lambda m: f'"{value(m)}"', line)
        for line in text.splitlines()
    )


@pytest.mark.parametrize("target", ["local", "onprem", "aks", "generic"])
def test_starter_parses_once_filled(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "x")
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "x")
    text = starter_text(target)
    assert "<fill in:" in text or target == "local"
    loaded = parse_platform(fill(text), tmp_path / "platform.yaml")
    assert loaded.platform.spec.target == target
