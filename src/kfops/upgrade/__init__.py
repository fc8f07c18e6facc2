"""Upgrades between Kubeflow releases: what changes (from the renders and small catalog facts),
the gates before any write, backup and restore, and the upgrade order."""

__all__: list[str] = []
