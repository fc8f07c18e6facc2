"""Facts about the third-party prerequisites kfops installs from their own manifests."""

from __future__ import annotations

#: MetalLB's namespace in metallb-native.yaml, where pools and advertisements live.
METALLB_NAMESPACE = "metallb-system"
#: The NFS subdir provisioner's files in its `deploy/` folder.
NFS_FILES = ("rbac.yaml", "deployment.yaml", "class.yaml")
NFS_NAMESPACE = "nfs-provisioner"
NFS_STORAGE_CLASS = "nfs-client"
#: deploy/deployment.yaml at v4.0.2 still names a staging v4.0.1 image; the release image is this.
NFS_IMAGE = "registry.k8s.io/sig-storage/nfs-subdir-external-provisioner:v4.0.2"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
#: What Kubeflow's manifests README asks of kind/k3d hosts (many pods watch many files).
INOTIFY_LIMITS = {"max_user_instances": 2280, "max_user_watches": 1255360}

#: NVIDIA's GPU stack: the operator's Helm chart, namespace and the CRD an install creates.
GPU_OPERATOR_REPO = "https://helm.ngc.nvidia.com/nvidia"
GPU_OPERATOR_CHART = "nvidia/gpu-operator"
GPU_OPERATOR_NAMESPACE = "gpu-operator"
GPU_OPERATOR_CRD = "clusterpolicies.nvidia.com"
#: The time-slicing ConfigMap kfops writes (operator: key `any`; device plugin: `config.yaml`).
TIME_SLICING_CONFIGMAP = "time-slicing-config"
GPU_RESOURCE = "nvidia.com/gpu"
#: Karpenter for Azure: chart, namespace, service account and the CRDs of its node pools.
KARPENTER_CHART = "oci://mcr.microsoft.com/aks/karpenter/karpenter"
KARPENTER_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter-sa"
#: (file in karpenter-provider-azure's pkg/apis/crds, CRD name) of the kinds kfops writes.
KARPENTER_CRDS = (
    ("karpenter.sh_nodepools.yaml", "nodepools.karpenter.sh"),
    ("karpenter.azure.com_aksnodeclasses.yaml", "aksnodeclasses.karpenter.azure.com"),
)
