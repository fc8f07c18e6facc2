"""Starter files: every target parses once its placeholders are filled; local renders as is."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfops.config import parse_platform
from kfops.targets import starter_text
from tests.helpers.presets import fill


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
