"""Reaching the platform: the gateway Service, TLS, secure cookies, MetalLB, an optional Ingress."""

from ._features import ingress_features
from ._preflight import ingress_checks

__all__ = ["ingress_checks", "ingress_features"]
