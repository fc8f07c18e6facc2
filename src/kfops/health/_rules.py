"""Every doctor rule, in the order the report lists them (names are what --only/--skip take)."""

from __future__ import annotations

from ._api_rules import missing_crds, webhooks_not_ready
from ._findings import Rule
from ._mesh_rules import old_sidecars
from ._node_rules import gpu_pending, inotify_exhausted
from ._pull_rules import registry_unreachable
from ._workload_rules import warning_events, workload_unavailable

RULES: tuple[Rule, ...] = (
    Rule("crds", "a CRD the release needs is missing or not Established "
                 "(no matches for kind ... ensure CRDs are installed first)", missing_crds),
    Rule("webhooks", "failed calling webhook ... connection refused / no endpoints available; "
                     "x509: certificate signed by unknown authority", webhooks_not_ready),
    Rule("workload-unavailable", "a Deployment, StatefulSet or DaemonSet is not Available "
                                 "(ImagePullBackOff, CrashLoopBackOff, Pending)",
         workload_unavailable),
    Rule("warning-events", "Warning events in the platform's namespaces in the last hour",
         warning_events),
    # helper B: nodes, registries, sidecars
    Rule("inotify", "pods crash with \"too many open files\" / \"failed to create fsnotify "
                    "watcher\" on kind/k3d (inotify limits)", inotify_exhausted),
    Rule("image-pull", "ErrImagePull / ImagePullBackOff: dial tcp ... i/o timeout, proxyconnect "
                       "tcp, no such host, x509 (proxy or closed network)", registry_unreachable),
    Rule("sidecar-version", "Istio sidecars (istio-proxy) older than istiod after an upgrade",
         old_sidecars),
    Rule("gpu-pending", "GPU pods Pending: 0/N nodes are available: Insufficient nvidia.com/gpu",
         gpu_pending),
)
