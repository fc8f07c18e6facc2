"""The releases kfops knows: components, paths, needs and shared-path ownership.

Every path and ownership rule here was checked by building the release's
paths one by one and matching each shared object's selectors to the pods of
the components (see tests/catalog). A new release line needs an entry here,
not code changes elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._model import Component, Ownership


@dataclass(frozen=True)
class ReleaseEntry:
    """What the catalog records for one release line."""

    components: tuple[Component, ...]
    ownership: tuple[Ownership, ...]
    tested_kubernetes: str
    supported_kubernetes: tuple[str, str]


_ISTIO_NEEDS = ("istio", "Istio routes and authorises every web app")
_KSERVE_NEEDS_KNATIVE = (
    "knativeServing", "KServe's default Serverless mode runs models as Knative services behind "
    "the cluster-local gateway")


def _core(name: str, title: str, *paths: str) -> Component:
    return Component(name, title, paths, kind="core")


def _optional(
    name: str, title: str, *paths: str, default: bool = True,
    requires: tuple[tuple[str, str], ...] = (), namespace: str | None = None,
    variants: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> Component:
    return Component(name, title, paths, "optional", default, requires, namespace, variants)


_PIPELINES_K8S = (
    "applications/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user-k8s-native"
)
_MODEL_REGISTRY = (
    "applications/model-registry/upstream/overlays/db",
    "applications/model-registry/upstream/options/istio",
    "applications/model-registry/upstream/options/ui/overlays/istio",
)
_NOTEBOOKS = (
    "applications/jupyter/jupyter-web-app/upstream/overlays/istio",
    "applications/jupyter/notebook-controller/upstream/overlays/kubeflow",
)
_VOLUMES = (
    "applications/pvcviewer-controller/upstream/base",
    "applications/volumes-web-app/upstream/overlays/istio",
)
_TENSORBOARDS = (
    "applications/tensorboard/tensorboard-controller/upstream/overlays/kubeflow",
    "applications/tensorboard/tensorboards-web-app/upstream/overlays/istio",
)
_KSERVE = ("applications/kserve/kserve", "applications/kserve/models-web-app/overlays/kubeflow")
_KNATIVE_SERVING = (
    "common/knative/knative-serving/overlays/gateways",
    "common/istio/cluster-local-gateway/base",
)

#: Core pieces whose paths are the same in every release the catalog knows.
_ISTIO = _core("istio", "Istio", "common/istio/istio-crds/base",
               "common/istio/istio-namespace/base",
               "common/istio/istio-install/overlays/oauth2-proxy")
_OAUTH2_PROXY = _core("oauth2Proxy", "oauth2-proxy", "common/oauth2-proxy/overlays/m2m-dex-only")
_DEX = _core("dex", "Dex", "common/dex/overlays/oauth2-proxy")
_ROLES = _core("kubeflowRoles", "Kubeflow roles", "common/kubeflow-roles/base")
_ISTIO_RESOURCES = _core("kubeflowIstioResources", "Kubeflow Istio gateway and roles",
                         "common/istio/kubeflow-istio-resources/base")
_DASHBOARD = _core("centralDashboard", "Central dashboard",
                   "applications/centraldashboard/overlays/oauth2-proxy")
_ADMISSION = _core("admissionWebhook", "PodDefaults admission webhook",
                   "applications/admission-webhook/upstream/overlays/cert-manager")
_PROFILES = _core("profiles", "Profiles controller and KFAM", "applications/profiles/pss")
_OPTIONAL_SHARED = (
    _optional("knativeServing", "Knative Serving", *_KNATIVE_SERVING),
    _optional("knativeEventing", "Knative Eventing", "common/knative/knative-eventing/base",
              default=False),
)
_OPTIONAL_APPS = (
    _optional("katib", "Katib", "applications/katib/upstream/installs/katib-with-kubeflow"),
    _optional("notebooks", "Notebooks", *_NOTEBOOKS),
    _optional("volumes", "Volumes", *_VOLUMES),
    _optional("tensorboards", "TensorBoards", *_TENSORBOARDS),
)
_OPTIONAL_SERVING = (
    _optional("kserve", "KServe", *_KSERVE, requires=(_KSERVE_NEEDS_KNATIVE,)),
    _optional("sparkOperator", "Spark operator",
              "applications/spark/spark-operator/overlays/kubeflow"),
    _optional("modelRegistry", "Model registry", *_MODEL_REGISTRY, default=False,
              namespace="kubeflow"),
)


def _networkpolicies(namespace: str, **by_component: tuple[str, ...]) -> tuple[Ownership, ...]:
    return tuple(
        Ownership(component, "NetworkPolicy", name, namespace)
        for component, names in by_component.items() for name in names
    )


_KUBEFLOW_POLICIES = {
    "pipelines": ("cache-server", "metadata-grpc-server", "metatada-envoy", "ml-pipeline",
                  "ml-pipeline-ui"),
    "katib": ("katib-controller", "katib-db-manager", "katib-ui"),
    "kserve": ("kserve", "kserve-models-web-app"),
    "notebooks": ("jupyter-web-app",),
    "tensorboards": ("tensorboards-web-app",),
    "volumes": ("volumes-web-app", "pvcviewer-webhook"),
    "trainer": ("training-operator-webhook",),
    "sparkOperator": ("spark-operator-webhook",),
    "modelRegistry": ("model-registry", "model-registry-ui"),
    "centralDashboard": ("centraldashboard",),
    "admissionWebhook": ("poddefaults",),
}

V1_10 = ReleaseEntry(
    components=(
        _core("certManager", "cert-manager", "common/cert-manager/base",
              "common/cert-manager/kubeflow-issuer/base"),
        _ISTIO, _OAUTH2_PROXY, _DEX,
        _core("kubeflowNamespace", "Kubeflow namespace and network policies",
              "common/kubeflow-namespace/base", "common/networkpolicies/base"),
        _ROLES, _ISTIO_RESOURCES, _DASHBOARD, _ADMISSION, _PROFILES,
        _core("userNamespace", "Example profile (kubeflow-user-example-com)",
              "common/user-namespace/base"),
        *_OPTIONAL_SHARED,
        _optional("pipelines", "Kubeflow Pipelines",
                  "applications/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user",
                  variants=(("kubernetes", (_PIPELINES_K8S,)),)),
        *_OPTIONAL_APPS,
        _optional("trainer", "Training Operator (v1)",
                  "applications/training-operator/upstream/overlays/kubeflow"),
        *_OPTIONAL_SERVING,
    ),
    ownership=_networkpolicies(
        "kubeflow", **{**_KUBEFLOW_POLICIES,
                       "pipelines": (*_KUBEFLOW_POLICIES["pipelines"], "minio")}),
    tested_kubernetes="1.32",
    supported_kubernetes=("1.29", "1.33"),
)

V26_03 = ReleaseEntry(
    components=(
        _core("certManager", "cert-manager", "common/cert-manager/overlays/kubeflow"),
        _ISTIO, _OAUTH2_PROXY, _DEX,
        _core("kubeflowNamespace", "Kubeflow namespaces and network policies",
              "common/kubeflow-namespace/base"),
        _ROLES, _ISTIO_RESOURCES, _DASHBOARD, _ADMISSION, _PROFILES,
        _core("userNamespace", "Example profile (kubeflow-user-example-com)",
              "common/user-namespace/base"),
        *_OPTIONAL_SHARED,
        _optional("pipelines", "Kubeflow Pipelines", "applications/pipeline/overlays",
                  variants=(("kubernetes", (_PIPELINES_K8S,)),)),
        *_OPTIONAL_APPS,
        _optional("trainer", "Kubeflow Trainer (v2) with JobSet", "applications/trainer/overlays"),
        *_OPTIONAL_SERVING,
    ),
    ownership=(
        *_networkpolicies("kubeflow", **_KUBEFLOW_POLICIES),
        *_networkpolicies("kubeflow", modelRegistry=("model-catalog",)),
        *_networkpolicies("kubeflow-system", trainer=("jobset-webhook", "trainer-webhook")),
        *_networkpolicies("istio-system", knativeServing=("allow-knative-to-istio-gateways",)),
        Ownership("pipelines", "Sidecar", "ml-pipeline-ui-exception", "kubeflow"),
        Ownership("notebooks", "Sidecar", "notebook-controller-exception", "kubeflow"),
    ),
    tested_kubernetes="1.34",
    supported_kubernetes=("1.34", "1.36"),
)

RELEASES = {"v1.10.x": V1_10, "26.03": V26_03}
