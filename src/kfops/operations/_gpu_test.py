"""`kfops gpu test`: the test Job for the platform's GPU nodes, with the image it may pull."""

from __future__ import annotations

from kfops.airgap import rewrite_reference
from kfops.cluster import Cluster, WaitSettings
from kfops.config import Spec
from kfops.gpu import TEST_IMAGE, GpuTest


def gpu_test_image(spec: Spec) -> str:
    """The default test image: TEST_IMAGE, from `airgap.registry` when the platform sets one
    (an air-gapped cluster pulls nothing else)."""
    if spec.airgap is None:
        return TEST_IMAGE
    return rewrite_reference(TEST_IMAGE, spec.airgap.registry, spec.airgap.keep_source_host)


def gpu_test(spec: Spec, cluster: Cluster, *, namespace: str = "default",
             image: str | None = None, waits: WaitSettings | None = None) -> GpuTest:
    """The GPU test of the platform `spec` on `cluster`: a one-GPU Job in `namespace` with
    the platform's GPU toleration, running `image` (default: `gpu_test_image`)."""
    return GpuTest(cluster, spec.gpu.taint, namespace,
                   gpu_test_image(spec) if image is None else image, waits)
