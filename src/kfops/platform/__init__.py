"""The composition root: every feature of the platform file in one render."""

from ._render import render_platform

__all__ = ["render_platform"]
