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
