"""Environment presets: starter files per target (local, onprem, aks, generic)."""

from ._starters import starter_text, write_starter

__all__ = ["starter_text", "write_starter"]
