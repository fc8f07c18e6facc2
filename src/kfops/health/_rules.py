"""Every doctor rule, in the order the report lists them (names are what --only/--skip take)."""

from __future__ import annotations

from ._api_rules import missing_crds, webhooks_not_ready
from ._findings import Rule
from ._gateway_rules import acme_http01_blocked, certificates_not_ready
from ._identity_rules import dex_config, secure_cookies
from ._mesh_rules import old_sidecars
from ._node_rules import gpu_pending, inotify_exhausted
from ._pull_rules import registry_unreachable
from ._storage_rules import pvc_pending
from ._tenancy_rules import profile_namespace, quota_exhausted
from ._workload_rules import warning_events, workload_unavailable

RULES: tuple[Rule, ...] = (
    Rule("crds", "a CRD the release needs is missing or not Established "
                 "(no matches for kind ... ensure CRDs are installed first)", missing_crds),
    Rule("webhooks", "failed calling webhook ... connection refused / no endpoints available; "
                     "x509: certificate signed by unknown authority", webhooks_not_ready),
    Rule("certificates", "cert-manager Certificate not Ready (Issuing certificate as Secret does "
                         "not exist; the issuer's error)", certificates_not_ready),
    Rule("dex-config", "Dex CrashLoopBackOff with 'error parse config file'; OIDC issuer does "
                       "not match the host", dex_config),
    Rule("secure-cookies", "Could not find CSRF cookie XSRF-TOKEN in the request; login loops "
                           "over plain HTTP", secure_cookies),
    Rule("acme-http01", "Let's Encrypt HTTP-01 challenge blocked by the gateway's authorization "
                        "policy (wrong status code '403' or '302', expected '200')",
         acme_http01_blocked),
    Rule("workload-unavailable", "a Deployment, StatefulSet or DaemonSet is not Available "
                                 "(ImagePullBackOff, CrashLoopBackOff, Pending)",
         workload_unavailable),
    Rule("warning-events", "Warning events in the platform's namespaces in the last hour",
         warning_events),
    Rule("inotify", "pods crash with \"too many open files\" / \"failed to create fsnotify "
                    "watcher\" on kind/k3d (inotify limits)", inotify_exhausted),
    Rule("image-pull", "ErrImagePull / ImagePullBackOff: dial tcp ... i/o timeout, proxyconnect "
                       "tcp, no such host, x509 (proxy or closed network)", registry_unreachable),
    Rule("sidecar-version", "Istio sidecars (istio-proxy) older than istiod after an upgrade",
         old_sidecars),
    Rule("gpu-pending", "GPU pods Pending: 0/N nodes are available: Insufficient nvidia.com/gpu",
         gpu_pending),
    Rule("pvc-pending", "PVCs stay Pending: no persistent volumes available for this claim and "
                        "no storage class is set; storageclass.storage.k8s.io not found",
         pvc_pending),
    Rule("profile-namespace", "a Profile's namespace never appears (profile controller down; "
                              "namespace already exist, but not owned by profile creator)",
         profile_namespace),
    Rule("quota-exhausted", "pods are forbidden: exceeded quota: kf-resource-quota (a profile's "
                            "ResourceQuota used up)", quota_exhausted),
)
