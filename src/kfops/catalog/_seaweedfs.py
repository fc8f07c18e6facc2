"""SeaweedFS facts for an Azure Blob container mounted as remote storage (spec.objectStore).

Kubeflow 26.03 runs `chrislusf/seaweedfs:4.00`, whose `weed filer.remote.sync`
loses uploads: a failed upload is logged, retried only when the error says
"transport", and the persisted sync offset moves past it, so the object never
reaches the remote (seaweedfs/seaweedfs issue #10411, fixed by PR #10424, first
released in about 4.41). 4.41 to 4.45 have two more remote-sync bugs: a file
rewritten with the same content before its first upload is never uploaded
(#11139, fixed by PRs #11140 and #11146) and one unreadable entry stops the
sync of the whole directory for good (#11148, fixed by PR #11149); those fixes
were merged on 2026-09-03/04, after 4.45 (2026-09-01) and before 4.46
(2026-09-08). Hence 4.46 is the oldest release kfops runs the sync with.

The 4.46 tag is evidenced in public repositories (Renovate updates of Docker Hub
mirrors, pinned compose files); it could not be pulled from the machine kfops
was built on, so the render says so.
"""

from __future__ import annotations

#: The oldest SeaweedFS release whose remote sync neither drops nor stalls uploads.
SEAWEEDFS_REMOTE_SYNC_MINIMUM = (4, 46)
#: The image the release's SeaweedFS and its sync sidecar run when azureBlob is chosen.
SEAWEEDFS_REMOTE_SYNC_IMAGE = "docker.io/chrislusf/seaweedfs:4.46"
#: The ConfigMap of Kubeflow Pipelines (in the store's namespace) and its key naming the
#: bucket every Pipelines piece reads and writes.
PIPELINES_CONFIG = "pipeline-install-config"
PIPELINES_BUCKET_KEY = "bucketName"
