"""`kfops check`'s environment checks against the emulated cluster."""

from __future__ import annotations

from kfops.cluster import Cluster
from kfops.config import load_platform
from kfops.operations import preflight
from tests.conftest import PlatformWriter


def test_ingress_class_is_looked_for(platform_file: PlatformWriter, cluster: Cluster) -> None:
    loaded = load_platform(platform_file(spec_extra=(
        "  ingress:\n    host: kubeflow.lab.internal\n    ingressClass: nginx\n")))

    [missing] = [c for c in preflight(loaded, cluster) if c.name == "ingress-class"]
    assert missing.state == "warn"
    assert "no IngressClass nginx (spec.ingress.ingressClass)" in missing.detail

    cluster.apply({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                   "metadata": {"name": "nginx"},
                   "spec": {"controller": "k8s.io/ingress-nginx"}})
    [found] = [c for c in preflight(loaded, cluster) if c.name == "ingress-class"]
    assert (found.state, found.detail) == ("pass", "IngressClass nginx exists")


def test_no_ingress_class_check_without_an_ingress(platform_file: PlatformWriter,
                                                   cluster: Cluster) -> None:
    checks = preflight(load_platform(platform_file()), cluster)
    assert "ingress-class" not in {c.name for c in checks}
