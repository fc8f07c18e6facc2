"""The version of kfops (its own module: any layer may read it without importing the rest)."""

__version__ = "0.1.0"
