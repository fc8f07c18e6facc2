"""The apply order of the real 26.03 bundle: stages, and waits for the webhooks that intercept."""

from __future__ import annotations

from kfops.cluster._kinds import Kinds
from kfops.cluster._steps import Step, apply_steps
from kfops.config import LoadedPlatform
from kfops.operations import bundle_files, render_platform
from kfops.render import RenderOptions


def _steps(platform: LoadedPlatform) -> list[Step]:
    bundle = render_platform(platform, RenderOptions(offline=True)).bundle
    return apply_steps(bundle_files(bundle), Kinds())


def _step_of(steps: list[Step], kind: str, name: str, namespace: str | None) -> Step:
    [found] = [s for s in steps for o in s.objects if (o["kind"], o["metadata"]["name"],
                                                       o["metadata"].get("namespace")) ==
               (kind, name, namespace)]
    return found


def test_crds_then_namespaces_then_objects_free_before_gated(platform: LoadedPlatform) -> None:
    steps = _steps(platform)

    assert [s.label for s in steps[:2]] == ["CustomResourceDefinitions", "namespaces"]
    assert steps[0].crds and {o["kind"] for o in steps[0].objects} == {
        "CustomResourceDefinition"}
    gated = [i for i, s in enumerate(steps) if s.needs]
    free = [i for i, s in enumerate(steps) if not s.needs]
    assert max(free) < min(gated)
    # Free objects keep the component order: cert-manager, then Istio, then the rest.
    components = [s.component for s in steps[2:] if not s.needs]
    assert components[:2] == ["certManager", "istio"]


def test_objects_wait_for_the_webhooks_that_intercept_them(platform: LoadedPlatform) -> None:
    steps = _steps(platform)

    issuer = _step_of(steps, "ClusterIssuer", "kubeflow-self-signing-issuer", None)
    assert [h.name for h in issuer.needs] == ["webhook.cert-manager.io"]
    assert issuer.needs[0].injected_ca  # and for its CA bundle to be injected
    # Pods in `kubeflow` get Istio's sidecar: their Deployment waits for the injector.
    pipeline = _step_of(steps, "Deployment", "ml-pipeline", "kubeflow")
    assert "namespace.sidecar-injector.istio.io" in {h.name for h in pipeline.needs}
    # cert-manager's own webhook Deployment waits for nothing (no injection there).
    assert not _step_of(steps, "Deployment", "cert-manager-webhook", "cert-manager").needs
    assert not _step_of(steps, "Deployment", "istiod", "istio-system").needs
