"""Offline validation of rendered objects: Kubernetes schemas, CRD schemas, CEL rules."""

from ._builtin import supported_versions
from ._report import ValidationReport
from ._validator import (
    ExtraCrd,
    Validator,
    kubernetes_version_problem,
    validate_objects,
)

__all__ = [
    "ExtraCrd",
    "ValidationReport",
    "Validator",
    "kubernetes_version_problem",
    "supported_versions",
    "validate_objects",
]
