"""The API server's state and rules, without HTTP: what the emulator adds to kmock.

kmock's KubernetesEmulator stores objects and merges patches as plain JSON.
kfops relies on more of the API server's behaviour; each rule below cites the
Kubernetes documentation it follows (or, where the documentation is silent, what
kube-apiserver v1.35.4 was seen to do) and says where it is simpler.
tests/realcluster/test_conformance.py asserts each rule that a real control plane
can show against both the emulator and kube-apiserver v1.35.4:

- Every write sets `metadata.uid` (on create) and `resourceVersion` (a global
  counter); an update naming a stale resourceVersion is a 409
  (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions).
  A write that changes nothing keeps the resourceVersion, as the API server does.
  `metadata.generation` ("a specific generation of the desired state. Populated
  by the system",
  https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/object-meta/)
  is 1 on create and moves on with each change of the desired state: for custom
  resources and CRDs on any change outside metadata
  (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#status-subresource),
  for the built-in kinds whose registry strategy keeps one (Deployments, StatefulSets,
  Jobs, Ingresses, webhook configurations and the rest of `_GENERATION_KINDS`, read
  from kube-apiserver v1.35.4's pkg/registry) on a change outside metadata and status,
  a Deployment's also on a change of its annotations. Other built-in kinds
  (ConfigMaps, Secrets, Services, Namespaces...) have no generation.
- Server-side apply creates missing objects (201 Created) and tracks field ownership
  per manager, reported in `metadata.managedFields` (FieldsV1); a field owned by
  another manager with a different value is a 409 unless `force=true`, worded
  "Apply failed with 1 conflict: conflict with "helm": .data.k" with a
  FieldManagerConflict cause per field; a forced field changes owner, one applied
  with the value it has is shared; fields a manager stops applying are removed
  (https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts).
  Nobody owns the fields that name the object (apiVersion, kind, metadata.name and
  namespace), a manager left owning no field has no managedFields entry, an object
  nobody owns a field of has no `managedFields` at all, and an apply whose body
  carries `metadata.managedFields` is a 400 "metadata.managedFields must be nil"
  (seen on kube-apiserver v1.35.4).
  Simpler: lists are atomic (no list-map merge keys, so FieldsV1 never holds
  `k:` entries), ownership is kept per leaf path, entries have no `time`, and merge
  patches (Update operations) do not change ownership. A create (POST) makes its
  `fieldManager` the owner of every field it sent, as an Update operation: a manager
  that creates and one that applies under the same name are two managers
  (https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management).
- A Secret's `stringData` is written into `data` (base64) and never stored
  (https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/secret-v1/).
- Empty maps of built-in kinds' map fields (`metadata.labels`, `metadata.annotations`,
  a Secret's `data`, a ConfigMap's `data` and `binaryData`) are not stored: they are Go
  maps tagged `omitempty`, so the API server returns no such field
  (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#optional-vs-required).
  A custom resource's metadata is ObjectMeta too: its empty labels and annotations
  are not stored either, while empty maps of its own fields are (seen on
  kube-apiserver v1.35.4). Simpler: only these map fields.
- Built-in objects are stored as decoding into their Go types leaves them: quantities
  in canonical form and zero values of `omitempty` fields left out, for the fields
  `_encoding` lists (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/).
- `dryRun=All` runs every check (including webhooks) and returns the result
  without storing it (https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run).
- An update (server-side apply, merge patch or PUT; a dry run too) is checked against the
  old object, as each kind's registry strategy does, and refused with 422 Invalid whose
  message (`Deployment.apps "web" is invalid: spec.selector: Invalid value:
  {"matchLabels":{"app":"web"}}: field is immutable`; several errors in one `[..., ...]`) and
  `details.causes` (reason, field, message) are worded as kube-apiserver v1.35.4 words them,
  values printed as Go's encoding/json prints them (`_updates`):
  a Deployment's, ReplicaSet's or DaemonSet's `spec.selector`
  (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#label-selector-updates);
  a StatefulSet's spec outside replicas, ordinals, template, updateStrategy,
  revisionHistoryLimit, persistentVolumeClaimRetentionPolicy and minReadySeconds (one
  `spec: Forbidden: updates to statefulset spec for fields other than ... are forbidden`,
  https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#limitations); a Job's
  `spec.selector`, `spec.template` and `spec.completions`
  (https://kubernetes.io/docs/concepts/workloads/controllers/job/#mutable-scheduling-directives);
  a RoleBinding's or ClusterRoleBinding's `roleRef` ("cannot change roleRef",
  https://kubernetes.io/docs/reference/access-authn-authz/rbac/#clusterrolebinding-example);
  a PersistentVolumeClaim's spec but for `volumeAttributesClassName` and, once its status is
  Bound, `resources.requests` (`spec: Forbidden: spec is immutable after creation except ...`,
  https://kubernetes.io/docs/concepts/storage/persistent-volumes/#expanding-persistent-volumes-claims),
  whose size then changes only when its StorageClass has `allowVolumeExpansion: true` (else
  403 Forbidden from the PersistentVolumeClaimResize admission plugin); the `immutable` flag,
  `data` and `binaryData` of a ConfigMap or Secret marked `immutable: true`
  (https://kubernetes.io/docs/concepts/configuration/configmap/#configmap-immutable,
  https://kubernetes.io/docs/concepts/configuration/secret/#secret-immutable) and any
  Secret's `type`.
  Simpler: where the real server prints its internal Go type (a Job's template, the diff
  after a claim's first line) the emulator prints the object as sent (the conformance tests
  compare those messages' ends); a suspended Job's scheduling directives, an Indexed Job's
  elastic completions and a bound claim's shrinking below its capacity are all refused; the
  checks run before every webhook (the real server's mutating webhooks come first).
- A Service gets a cluster IP on create from 10.96.0.0/12 (`spec.clusterIP` and
  `spec.clusterIPs`), unique; `None` (headless) is kept and an ExternalName gets none; a
  create naming a taken or out-of-range address is a 422 (`failed to allocate IP ...`). An
  update that leaves the address out (an apply not naming it, a PUT, a merge patch) keeps
  it; one that changes it is a 422 `spec.clusterIPs[0]: Invalid value: ["None"]: may not
  change once set` (https://kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1/#ServiceSpec,
  https://kubernetes.io/docs/concepts/services-networking/service/#choosing-your-own-ip-address).
  Simpler: no other defaults (type, ipFamilies, ...) are filled in.
- A CustomResourceDefinition's resource appears in discovery and its
  `Established` condition turns True after `crd_delay` seconds
  (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#create-a-customresourcedefinition).
  An update keeps it Established (the condition says its names were accepted,
  which they stay). Its objects are stored in its storage version and answered in the version a
  request names: with conversion strategy None only `apiVersion` changes
  (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definition-versioning/#overview).
  Each object remembers the version it was stored in (`ApiState.stored_versions(group,
  plural)` tells tests), and any write of it (a PUT or apply changing nothing else, as the
  storage version migrator sends) stores it in the current storage version: a new
  resourceVersion. A CRD's `status.storedVersions` is its storage version on create; each
  update keeps the list (status sent with it is ignored) and appends a new storage version,
  and an update whose spec.versions lacks a listed version is a 422
  `status.storedVersions[0]: Invalid value: "v1alpha1": missing from spec.versions; ...`.
  The `customresourcedefinitions/NAME/status` subresource (GET, PUT, merge patch, apply)
  writes only `status.storedVersions` (spec ignored; an empty list becomes the storage
  version alone), without checking the list, as kube-apiserver v1.35.4 does
  (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definition-versioning/#upgrade-existing-objects-to-a-new-stored-version).
  Simpler: a CRD's spec is not validated (two storage versions pass); the status
  subresource of other kinds is not emulated (404).
- Names must be DNS-1123 subdomains (422 Invalid otherwise); RBAC kinds only
  refuse `/` and `%` (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/).
- Namespaced objects are refused with 404 while their namespace does not exist; a
  namespace that is terminating takes no new object: its creation is refused with
  403 Forbidden (cause NamespaceTerminating) while updates of what is in it pass, as
  the NamespaceLifecycle admission plugin does
  (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#namespacelifecycle).
  Every namespace carries the label `kubernetes.io/metadata.name` with its name
  (https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-metadata-name).
- Deleting an object deletes its dependents (ownerReferences), and deleting a
  namespace deletes everything in it (it stays Terminating while anything is
  left in it); objects with finalizers only get a
  deletionTimestamp until their last finalizer is removed; deleting a CRD deletes
  every object of its kind
  (https://kubernetes.io/docs/concepts/architecture/garbage-collection/,
  https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#delete-a-customresourcedefinition).
  DeleteOptions' `propagationPolicy` (query parameter or body; `orphanDependents: true` is
  Orphan) is honoured (https://kubernetes.io/docs/concepts/architecture/garbage-collection/#cascading-deletion,
  https://kubernetes.io/docs/tasks/administer-cluster/use-cascading-deletion/): Orphan
  removes the owner's entry from each dependent's ownerReferences (a write to each) and
  keeps them; Foreground leaves the owner with deletionTimestamp and the
  `foregroundDeletion` finalizer until no dependent with `blockOwnerDeletion` is left;
  Background is the default, but a batch/v1 Job without a policy orphans its pods and the
  answer carries the Warning `child pods are preserved by default when jobs are deleted; ...`
  (seen on kube-apiserver v1.35.4). The answer shows the `orphan` or `foregroundDeletion`
  finalizer; another policy value, or both spellings at once, is a 422 worded as the API
  server words it.
  Simpler: deletion is immediate (no background queue).
- An admission webhook whose Service has no ready endpoint refuses the objects
  it intercepts with "connection refused" when its failurePolicy is Fail
  (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/).
  Simpler: a Service is ready when an available Deployment's pods match its
  selector; namespaceSelector and objectSelector support matchLabels and
  matchExpressions.
- Deployments, StatefulSets and DaemonSets report all replicas available
  `workload_delay` seconds (as set then) after their last change (a change that only lowers
  `replicas` keeps them available, and at zero replicas they are available at once); a
  Deployment's status leaves out every count that is zero (Go's omitempty, so at zero it has
  only observedGeneration, `terminatingReplicas: 0` and the Available condition, True with
  "Deployment has minimum availability."), a StatefulSet's keeps `replicas` and
  `availableReplicas` (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status,
  https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/#DeploymentStatus;
  seen on kube-apiserver v1.35.4). Simpler: no Progressing condition. EndpointSlices
  list a ready endpoint for every Service whose selector matches such pods; each
  EndpointSlice is owned by its Service (an ownerReference, and the labels
  `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`)
  (https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/#ownership).
  Simpler: EndpointSlices are computed on read, never stored.
- Every new namespace gets the ServiceAccount `default`
  (https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts)
  and the ConfigMap `kube-root-ca.crt` that the kube-controller-manager's root CA
  publisher puts in every namespace
  (https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/).
  Simpler: made once with the namespace, not made again when deleted.
- Lists take a `fieldSelector` (`metadata.name` and `metadata.namespace` for every kind;
  core/v1 Events' `involvedObject.*`, `reason`, `reportingComponent`, `source`, `type`;
  Pods' `spec.nodeName`, `spec.restartPolicy`, `spec.schedulerName`,
  `spec.serviceAccountName`, `spec.hostNetwork`, `status.phase`, `status.podIP`,
  `status.nominatedNodeName`, their defaults included) with `=`, `==`, `!=` and commas
  for AND; an unknown field or a malformed term is a 400 BadRequest worded per kind as
  kube-apiserver v1.35.4 words it, as `_fields` describes
  (https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/).
- A list of a built-in kind carries `apiVersion` and `kind` once, on the list; its items
  carry neither (typed objects drop their TypeMeta when listed). A custom resource's items
  keep both (seen on kube-apiserver v1.35.4, held by the conformance tests).
- Discovery (`/api/v1`, `/apis`, `/apis/<group>/<version>`) lists the built-in
  kinds (each in every version kmock's bundle has) and those of established CRDs; a
  deleted CRD's kind leaves it
  (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api).
  A resource URL of a group that is not built in, which no CRD serves in that version,
  is answered `404 page not found` in plain text, not a Status, as the generic API
  server's NotFound handler answers it; a built-in group answers a missing version or
  resource with a NotFound Status "the server could not find the requested resource"
  (seen on kube-apiserver v1.35.4).
- With `profile_controller` on, each Profile gets its namespace (owned by the
  Profile, labelled `app.kubernetes.io/part-of: kubeflow-profile`)
  `profile_delay` seconds after it was written, as Kubeflow's profile
  controller makes it. Simpler: no RoleBindings, ServiceAccounts or quota.
- With `statefulset_pods` on, StatefulSets get their pods and the claims of their
  volumeClaimTemplates, and adopt orphaned pods, as `_statefulsets` describes
  (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/).
- With `jobs` on, Jobs get a pod that is scheduled, run and logged as
  `_jobs` describes (for `kfops gpu test`; `job_results` gives other Jobs' exit
  code and log, and `run_container` stands in for what another container does, e.g.
  the database dump Jobs of `kfops backup`, which the tests run on this machine), and
  the Job its terminal condition, `Complete` or `Failed`, once the pod ended
  (https://kubernetes.io/docs/concepts/workloads/controllers/job/#terminal-job-conditions);
  GET /version reports `server_version`.
- Workloads named in `failing` stay unavailable, with a pod and Events in the
  state the kubelet or scheduler reports for the chosen reason (ImagePullBackOff,
  ErrImagePull, CrashLoopBackOff, CreateContainerConfigError, Unschedulable, whose
  message the scheduler words from the pod's requests and the Nodes as `_scheduler`
  describes, https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/),
  until `failing_for` seconds after their last change, as `_kubelet` describes; a scheduled
  one is bound to its node (`spec.nodeName`), and its pull error is the registry's "not
  found" or the runtime's words a test gives (`pull_errors`: a registry the node cannot reach,
  https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff)
  (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/,
  https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/).
- Authorization: a request whose verb, resource and namespace `deny` lists is refused
  with 403 Forbidden before anything else happens, worded as the API server's
  authorizer answers a user RBAC does not allow (`configmaps "x" is forbidden: User
  "emulator" cannot get resource "configmaps" in API group "" in the namespace "a"`)
  (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb).
  A subresource is a resource of its own: reading a pod's log is `get` on `pods/log`
  (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources).
  Simpler: rules are denials added by a test; everything else is allowed.
- A pod's log (`GET .../pods/NAME/log`) is one container's: `container` names it, and may
  be left out only when the pod has exactly one (else 400 `a container name must be
  specified for pod NAME, choose one of: [init... containers...]`; an unknown name is 400
  `container X is not valid for pod NAME`); `tailLines` keeps the last lines (negative: 422
  Invalid PodLogOptions; not a number: 400), `previous=true` asks for the last terminated
  instance. A pod no node runs yet answers 204 No Content (seen on kube-apiserver v1.35.4);
  otherwise the kubelet answers as `_kubelet.container_log` describes
  (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#read-log-of-the-specified-pod).
  Logs are `ApiState.logs[(namespace, pod, container)]` (Jobs' pods, `Settings.logs`, or a
  test's own). Simpler: `sinceSeconds`, `sinceTime`, `limitBytes`, `timestamps` and
  `follow` are ignored.
- Leases (coordination.k8s.io/v1) are stored like any object: the API server
  never expires one, its holders and candidates do, by comparing `renewTime`
  plus `leaseDurationSeconds` with their clock and writing with the
  resourceVersion they read (https://kubernetes.io/docs/concepts/architecture/leases/).
  A Lease is validated as the API server does: `leaseDurationSeconds` greater
  than 0 and `leaseTransitions` not negative (422 Invalid), `acquireTime` and
  `renewTime` MicroTime strings
  (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/lease-v1/):
  RFC 3339 with exactly six digits of the second (Go's layout
  2006-01-02T15:04:05.000000Z07:00); another string is a 400 BadRequest in a create
  or update, a 422 Invalid in a merge patch and a 500 in an apply (seen on
  kube-apiserver v1.35.4).
- Every request is kept in `requests` as the API server's audit log keeps it
  (https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/): discovery (`/api`, `/apis`,
  `/apis/<group>/<version>`) and `/version` too, with method, path, query string, dry run and
  the answer's status, so that a test can count a command's requests and prove it wrote
  nothing (`RunningEmulator.non_reads()`: every request but GET and HEAD, dry runs and Lease
  writes included). Controllers' own writes are not requests.
- Every stored change is kept in `history` (the object as stored, in order),
  as a watch started before the first write would deliver them
  (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes),
  so tests can ask what a value was after each write.
- cert-manager's CA injector fills `caBundle` of webhook configurations that
  carry a `cert-manager.io/inject-ca-from*` annotation once the
  `cert-manager-cainjector` Deployment is available; until then such a webhook
  fails like an unreachable one (https://cert-manager.io/docs/concepts/ca-injector/).
  The bundle is shown on read while the injector is available (a failing one, see
  `Settings.failing`, shows none): simpler than a real cluster, where a bundle once
  written stays, and only configurations made while the injector is down lack it.
"""

from __future__ import annotations

import base64
import builtins
import copy
import ipaddress
import itertools
import pickle
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._encoding import normalize
from ._fields import FieldSelectorError
from ._fields import select as select_fields
from ._jobs import run_jobs
from ._kubelet import LogRefused, container_log, pod_key, run_failing_workloads
from ._statefulsets import run_stateful_sets
from ._updates import FieldError, invalid, invalid_value, update_errors

Leaf = tuple[str, ...]
Key = tuple[str, str, str, str]
"""(group, plural, namespace, name); namespace is "" for cluster-scoped objects."""


CLUSTER_SCOPE = "(cluster scope)"
"""`ApiState.deny`'s namespace for a refusal at the cluster scope only."""


class ApiError(Exception):
    """An API error: status code, reason, message and details, as a Status object carries them."""

    def __init__(self, status: int, reason: str, message: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.details = details


@dataclass(frozen=True)
class Kind:
    """A resource the emulated server serves."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool


@dataclass
class Stored:
    """One object and what the server remembers about it."""

    obj: dict[str, Any]
    owners: dict[str, set[Leaf]] = field(default_factory=dict)
    """manager -> leaf paths it applied last."""
    ready_at: float = 0.0
    """When a CRD is Established, a workload available (the delay as set at its last change)."""
    changed_at: float = 0.0
    """When the object last changed (time.monotonic)."""


@dataclass
class Settings:
    """Timings of the emulated controllers (0: immediately)."""

    crd_delay: float = 0.0
    workload_delay: float = 0.0
    profile_controller: bool = False
    """Act as Kubeflow's profile controller: make each Profile's namespace."""
    profile_delay: float = 0.0
    jobs: bool = False
    """Act as the job controller, scheduler and kubelet for Jobs' pods (see _jobs)."""
    run_container: Callable[[dict[str, Any], dict[tuple[str, str], dict[str, Any]]],
                            tuple[int, str]] | None = None
    """What a Job's container does once it runs, given its pod and the Secrets by (namespace,
    name): its exit code and log (None: `nvidia-smi -L`, see _jobs)."""
    image_pull_error: bool = False
    job_results: dict[str, tuple[int, str] | None] = field(default_factory=dict)
    """Jobs ("namespace/name") whose container ends with this exit code and log (the
    emulator runs no program); None: it keeps running (see _jobs)."""
    provision_node: dict[str, Any] | None = None
    """A Node (with status) that appears for an unschedulable pod, as Karpenter makes one."""
    provision_delay: float = 0.0
    server_version: str = "1.34"
    """What GET /version reports (major.minor)."""
    failing: dict[str, str] = field(default_factory=dict)
    """Workloads ("namespace/name") kept unavailable, each with what its pod shows:
    ErrImagePull, ImagePullBackOff, CrashLoopBackOff, CreateContainerConfigError or
    Unschedulable (see _kubelet)."""
    failing_for: float | None = None
    """Seconds after a failing workload's last change until its pod recovers (None: never)."""
    pull_errors: dict[str, str] = field(default_factory=dict)
    """What the container runtime answers when a failing workload's ("namespace/name") pod
    pulls its image (default: the registry has no such image; see _kubelet)."""
    crash_restarts: int = 5
    """How often a CrashLoopBackOff pod reports its container restarted."""
    logs: dict[str, str] = field(default_factory=dict)
    """What the first container of a failing workload's ("namespace/name") pod printed: a
    CrashLoopBackOff pod serves it as its last run's log (see _kubelet)."""
    statefulset_pods: bool = False
    """Act as the StatefulSet controller: pods and volume claims (see _statefulsets)."""


@dataclass(frozen=True)
class Written:
    """One stored change: the object as it was stored by that write."""

    key: Key
    obj: dict[str, Any]


@dataclass
class Record:
    """One request, for assertions (writes counted by method): resource URLs, discovery
    and /version alike."""

    method: str
    path: str
    dry_run: bool
    status: int = 0
    """The answer's HTTP status (0 until answered)."""
    query: str = ""
    """The query string as sent (`labelSelector=...&fieldSelector=...`, `tailLines=50`)."""


_WORKLOADS = {("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets")}
_CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")
"""Where Services' cluster IPs are allocated (the API server's --service-cluster-ip-range)."""
PROPAGATION = ("Foreground", "Background", "Orphan")
_PROFILES = ("kubeflow.org", "profiles")
_BOOKKEEPING = ("uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                "managedFields")


class ApiState:
    """Objects, kinds and rules of one emulated cluster."""

    def __init__(self, kinds: list[Kind], settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.builtin = {(k.group, k.plural): k for k in kinds}
        self._builtin_kinds = list(kinds)
        """Every version of each built-in kind (`builtin` keeps one per group and resource)."""
        self._builtin_groups = {k.group for k in kinds}
        self.objects: dict[Key, Stored] = {}
        self.requests: list[Record] = []
        self.history: list[Written] = []
        """Every stored change in order (creations, updates; deletions are not listed)."""
        self._versions = itertools.count(1)
        self._ip_counter = itertools.count(1)
        self._by_kind: dict[tuple[str, str], set[Key]] = {}
        self.logs: dict[tuple[str, str, str], str] = {}
        """Containers' logs by (namespace, pod, container), as the kubelet would serve them
        (a CrashLoopBackOff container's: its last run's)."""
        self.provision_at: dict[Key, float] = {}
        self.pod_states: dict[Key, str] = {}
        """What the emulated kubelet last reported for each pod of a failing workload."""
        self.denied: set[tuple[str, str, str]] = set()
        """(verb, plural, namespace) the credentials may not use ("" namespace: any)."""
        namespaces = self.builtin[("", "namespaces")]
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            # Every cluster starts with these (the API server creates them itself).
            self._store(namespaces, ("", "namespaces", "", name),
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                        {}, dry_run=False)

    def clone(self, settings: Settings | None = None) -> ApiState:
        """This cluster as it stands (objects, logs, denials), with no request or change
        recorded yet and `settings` (default: a copy of its own): one install that several
        tests each break in their own way.

        Copied through pickle, leaving out what a copy starts without (the request log,
        the history) and the settings (they may hold functions): a 26.03 install copies
        in about 0.1 s, a tenth of a deep copy with its history.
        """
        state = {k: v for k, v in self.__getstate__().items()
                 if k not in ("settings", "requests", "history")}
        copied = ApiState.__new__(ApiState)
        copied.__setstate__({**pickle.loads(pickle.dumps(state)), "requests": [],
                             "history": [],
                             "settings": settings or copy.deepcopy(self.settings)})
        return copied

    def __getstate__(self) -> dict[str, Any]:
        """The state as plain values: the counters as the next number each gives (one is
        used up here; versions and addresses need only grow)."""
        state = self.__dict__.copy()
        state["_versions"] = next(self._versions)
        state["_ip_counter"] = next(self._ip_counter)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a state `__getstate__` gave."""
        self.__dict__.update({**state, "_versions": itertools.count(state["_versions"]),
                              "_ip_counter": itertools.count(state["_ip_counter"])})

    def deny(self, verb: str, plural: str, namespace: str = "") -> None:
        """Make `verb` on `plural` (in `namespace`, or anywhere) answer 403, as RBAC would.

        `namespace` CLUSTER_SCOPE refuses only requests across all namespaces: credentials
        granted by RoleBindings alone, which give no permission at the cluster scope
        (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding).
        """
        self.denied.add((verb, plural, namespace))

    def authorize(self, verb: str, plural: str, namespace: str, group: str = "",
                  name: str | None = None, *, subresource: str = "") -> None:
        """403 Forbidden when the request is denied, worded as RBAC's authorizer words it
        (a subresource is its own resource to RBAC: `deny("get", "pods/log")`)."""
        resource = f"{plural}/{subresource}" if subresource else plural
        if (verb, resource, namespace) in self.denied or (verb, resource, "") in self.denied \
                or (not namespace and (verb, resource, CLUSTER_SCOPE) in self.denied):
            where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            what = f'{plural} "{name}"' if name else plural
            details: dict[str, Any] = {"kind": plural, **({"name": name} if name else {}),
                                       **({"group": group} if group else {})}
            raise ApiError(403, "Forbidden", f'{what} is forbidden: User "emulator" cannot '
                                             f'{verb} resource "{resource}" in API group '
                                             f'"{group}" {where}', details)

    # ---- kinds -------------------------------------------------------------------------

    def kinds(self) -> list[Kind]:
        """Every served kind: built-in ones and those of established CRDs."""
        return [*self._builtin_kinds, *self._crd_kinds()]

    def answers_plainly(self, group: str, version: str, plural: str) -> bool:
        """Whether the URL gets the generic `404 page not found` (no built-in group, no CRD)."""
        return group not in self._builtin_groups and not any(
            (kind.group, kind.version, kind.plural) == (group, version, plural)
            for kind in self._crd_kinds())

    def kind(self, group: str, plural: str, version: str = "") -> Kind:
        """The kind a URL names (in `version`, or any), or a 404 as for an unknown resource."""
        for kind in self.kinds():
            if (kind.group, kind.plural) == (group, plural) and version in ("", kind.version):
                return kind
        raise ApiError(404, "NotFound", "the server could not find the requested resource", {})

    def _crd_kinds(self) -> Iterator[Kind]:
        for key in sorted(self._indexed("apiextensions.k8s.io", "customresourcedefinitions")):
            stored = self.objects[key]
            if not self._established(stored):
                continue
            spec = stored.obj["spec"]
            for version in spec.get("versions") or []:
                if version.get("served", True):
                    yield Kind(spec["group"], version["name"], spec["names"]["plural"],
                               spec["names"]["kind"], spec.get("scope") == "Namespaced")

    def _delay(self, kind: Kind) -> float:
        if (kind.group, kind.plural) == ("apiextensions.k8s.io", "customresourcedefinitions"):
            return self.settings.crd_delay
        if (kind.group, kind.plural) == _PROFILES:
            return self.settings.profile_delay
        return self.settings.workload_delay if (kind.group, kind.plural) in _WORKLOADS else 0.0

    def _established(self, stored: Stored) -> bool:
        return time.monotonic() >= stored.ready_at

    def run_controllers(self) -> None:
        """What controllers would have done by now (run before every request)."""
        if self.settings.jobs:
            run_jobs(self)
        if self.settings.failing:
            run_failing_workloads(self)
        if self.settings.statefulset_pods:
            run_stateful_sets(self)
        if self.settings.profile_controller:
            self._make_profile_namespaces()

    def _make_profile_namespaces(self) -> None:
        now = time.monotonic()
        for key in list(self._indexed(*_PROFILES)):
            stored = self.objects[key]
            name = key[3]
            if now < stored.ready_at or stored.obj["metadata"].get("deletionTimestamp") or \
                    ("", "namespaces", "", name) in self.objects:
                continue
            owner = ((stored.obj.get("spec") or {}).get("owner") or {}).get("name", "")
            namespaces = self.builtin[("", "namespaces")]
            namespace = {
                "apiVersion": "v1", "kind": "Namespace", "metadata": {
                    "name": name, "annotations": {"owner": owner},
                    "labels": {"app.kubernetes.io/part-of": "kubeflow-profile",
                               "kubernetes.io/metadata.name": name},
                    "ownerReferences": [{
                        "apiVersion": stored.obj["apiVersion"], "kind": "Profile",
                        "name": name, "uid": stored.obj["metadata"]["uid"],
                        "controller": True, "blockOwnerDeletion": True}]}}
            self._store(namespaces, ("", "namespaces", "", name), namespace,
                        {"profile-controller": _owned(namespace)}, dry_run=False)

    def workloads(self) -> Iterator[tuple[Key, Stored]]:
        """Every stored Deployment, StatefulSet and DaemonSet."""
        for group, plural in sorted(_WORKLOADS):
            for key in sorted(self._indexed(group, plural)):
                yield key, self.objects[key]

    def kept_failing(self, key: Key, stored: Stored) -> bool:
        """Whether a workload is held unavailable by `Settings.failing` right now."""
        if f"{key[2]}/{key[3]}" not in self.settings.failing:
            return False
        recovers = self.settings.failing_for
        return recovers is None or time.monotonic() < stored.changed_at + recovers

    def _available(self, key: Key, stored: Stored) -> bool:
        if _replicas(stored.obj) == 0:
            return True  # nothing to wait for: zero replicas are all available
        if time.monotonic() < stored.ready_at:
            return False
        if f"{key[2]}/{key[3]}" not in self.settings.failing:
            return True
        # As the workload controller sees it: available once the kubelet reports its pod running.
        return self.pod_states.get(pod_key(key, stored.obj["kind"])) == "Running"

    def pod_log(self, namespace: str, name: str, container: str = "", previous: bool = False,
                tail_lines: int | None = None) -> str | None:
        """A container's log (the pod's only container when `container` is ""), its last
        `tail_lines` lines; None when the pod has no node yet (204 No Content). 400 as the
        API server answers a container it cannot choose, and as the kubelet answers one
        without a log (see _kubelet.container_log)."""
        pod = self._existing(self.kind("", "pods"), namespace, name).obj
        spec = pod.get("spec") or {}
        names = [c["name"] for c in spec.get("containers") or []]
        every = [c["name"] for c in spec.get("initContainers") or []] + names
        if not container:
            if len(names) != 1:
                choice = f", choose one of: [{' '.join(every)}]" if names else ""
                raise ApiError(400, "BadRequest",
                               f"a container name must be specified for pod {name}{choice}")
            container = names[0]
        elif container not in every:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        try:
            log = container_log(self, pod, container, previous)
        except LogRefused as refused:
            raise ApiError(400, "BadRequest", str(refused)) from refused
        if log is None or tail_lines is None:
            return log
        return "".join(log.splitlines(keepends=True)[-tail_lines:]) if tail_lines else ""

    def report_status(self, key: Key, status: dict[str, Any]) -> None:
        """What a controller (the kubelet, say) reports: the status of a stored object."""
        self.objects[key].obj["status"] = status

    # ---- reads -------------------------------------------------------------------------

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        """One object with its status as the controllers would report it."""
        stored = self.objects.get(self._key(kind, namespace, name))
        if stored is None:
            raise ApiError(404, "NotFound", f'{kind.plural}.{kind.group or "core"} "{name}" '
                                            "not found")
        return self._with_status(kind, stored)

    def list(self, kind: Kind, namespace: str, selector: str = "",
             fields: str = "") -> list[dict[str, Any]]:
        """Objects of a kind (in a namespace, or all), optionally by label and field selector
        (400 BadRequest for a field selector the server refuses)."""
        wanted = _parse_selector(selector)
        if (kind.group, kind.plural) == ("discovery.k8s.io", "endpointslices"):
            items = [s for s in self._endpoint_slices(namespace)
                     if _matches(s["metadata"]["labels"], wanted)]
        else:
            keys = sorted(self._indexed(kind.group, kind.plural))
            items = [self._with_status(kind, self.objects[key]) for key in keys
                     if (not namespace or key[2] == namespace)
                     and _matches(self.objects[key].obj["metadata"].get("labels") or {}, wanted)]
        if not fields:
            return items
        try:
            return select_fields(kind.group, kind.plural, kind.kind, items, fields)
        except FieldSelectorError as error:
            raise ApiError(400, "BadRequest", str(error)) from error

    def _endpoint_slices(self, namespace: str) -> builtins.list[dict[str, Any]]:
        slices = []
        for _, _, ns, name in sorted(self._indexed("", "services")):
            if namespace and ns != namespace:
                continue
            ready = self._service_ready(ns, name)
            service = self.objects[("", "services", ns, name)].obj["metadata"]
            slices.append({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": f"{name}-emulated", "namespace": ns,
                             "uid": str(uuid.uuid5(uuid.NAMESPACE_OID, service["uid"])),
                             "labels": {"kubernetes.io/service-name": name,
                                        "endpointslice.kubernetes.io/managed-by":
                                            "endpointslice-controller.k8s.io"},
                             "ownerReferences": [{
                                 "apiVersion": "v1", "kind": "Service", "name": name,
                                 "uid": service["uid"], "controller": True,
                                 "blockOwnerDeletion": True}]},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}]
                if ready else [],
            })
        return slices

    def _injector_ready(self) -> bool:
        for key in self._indexed("apps", "deployments"):
            if key[3] == "cert-manager-cainjector":
                return self._available(key, self.objects[key])
        return False

    def _with_status(self, kind: Kind, stored: Stored) -> dict[str, Any]:
        obj = copy.deepcopy(stored.obj)
        managed = _managed_fields(stored)
        if managed:  # none at all is no field, not an empty list
            obj["metadata"]["managedFields"] = managed
        if _injects_ca(obj) and self._injector_ready():
            for hook in obj.get("webhooks") or []:
                hook.setdefault("clientConfig", {})["caBundle"] = "ZW11bGF0ZWQtY2E="
        if (kind.group, kind.plural) == ("apiextensions.k8s.io", "customresourcedefinitions"):
            established = "True" if self._established(stored) else "False"
            obj["status"] = {"conditions": [
                {"type": "NamesAccepted", "status": "True"},
                {"type": "Established", "status": established},
            ], "acceptedNames": obj["spec"]["names"],
                "storedVersions": (stored.obj.get("status") or {}).get("storedVersions") or []}
        if (kind.group, kind.plural) in _WORKLOADS:
            metadata = obj["metadata"]
            key = self._key(kind, metadata.get("namespace", ""), metadata["name"])
            obj["status"] = _workload_status(obj, self._available(key, stored))
        return obj

    # ---- writes ------------------------------------------------------------------------

    def apply(self, kind: Kind, namespace: str, name: str, body: dict[str, Any], *,
              manager: str, force: bool, dry_run: bool) -> dict[str, Any]:
        """Server-side apply: create, or merge what `manager` applies now."""
        if "managedFields" in (body.get("metadata") or {}):
            raise ApiError(400, "BadRequest", "metadata.managedFields must be nil")
        key = self._key(kind, namespace, name)
        stored = self.objects.get(key)
        self._check_body(kind, namespace, name, body, creating=stored is None)
        config = _without_bookkeeping(body)
        if stored is None:
            created = self._prepare(kind, key, None, config)
            self._admit(kind, namespace, created, "CREATE", "apply")
            return self._store(kind, key, created, {manager: _owned(config)}, dry_run=dry_run)
        self._check_version(stored, body)
        leaves = _owned(config)
        conflicts = self._conflicts(kind, stored, manager, config, leaves)
        if conflicts and not force:
            raise _conflict_error(conflicts, str(stored.obj.get("apiVersion")))
        merged = copy.deepcopy(stored.obj)
        for path in stored.owners.get(manager, set()) - leaves:
            if not any(path in paths for m, paths in stored.owners.items() if m != manager):
                _remove(merged, path)
        _merge(merged, config)
        # Forced fields change owner; a field applied with the value it has is shared.
        taken = {path for _, path in conflicts}
        owners = {m: (paths - taken if m != manager else leaves)
                  for m, paths in stored.owners.items()}
        owners.setdefault(manager, leaves)
        merged = self._prepare(kind, key, stored, merged)
        self._admit(kind, namespace, merged, "UPDATE", "apply")
        return self._store(kind, key, merged, owners, dry_run=dry_run, previous=stored)

    def create(self, kind: Kind, namespace: str, body: dict[str, Any],
               dry_run: bool, manager: str = "") -> dict[str, Any]:
        """POST: create, or 409 when it exists.

        The request's `fieldManager` owns every field it sent, as an Update
        operation (an Apply's manager of the same name is a different manager).
        """
        name = str((body.get("metadata") or {}).get("name", ""))
        self._check_body(kind, namespace, name, body, creating=True)
        key = self._key(kind, namespace, name)
        if key in self.objects:
            raise ApiError(409, "AlreadyExists", f'{kind.plural} "{name}" already exists')
        config = _without_bookkeeping(body)
        created = self._prepare(kind, key, None, config)
        self._admit(kind, namespace, created, "CREATE", "create")
        owner = f"{manager}{_UPDATE_OWNER}" if manager else "before-first-apply"
        return self._store(kind, key, created, {owner: _owned(config)}, dry_run=dry_run)

    def replace(self, kind: Kind, namespace: str, name: str, body: dict[str, Any],
                dry_run: bool) -> dict[str, Any]:
        """PUT: replace the object (409 on a stale resourceVersion)."""
        stored = self._existing(kind, namespace, name)
        self._check_version(stored, body)
        key = self._key(kind, namespace, name)
        config = self._prepare(kind, key, stored, _without_bookkeeping(body))
        self._admit(kind, namespace, config, "UPDATE", "update")
        return self._store(kind, key, config, stored.owners, dry_run=dry_run, previous=stored)

    def merge_patch(self, kind: Kind, namespace: str, name: str, patch: dict[str, Any],
                    dry_run: bool) -> dict[str, Any]:
        """A JSON merge (or strategic merge, treated alike) patch; `null` deletes a field."""
        stored = self._existing(kind, namespace, name)
        self._check_version(stored, patch)
        merged = copy.deepcopy(stored.obj)
        _merge(merged, _without_bookkeeping(patch), nulls_delete=True)
        key = self._key(kind, namespace, name)
        merged = self._prepare(kind, key, stored, merged)
        self._admit(kind, namespace, merged, "UPDATE", "patch")
        return self._store(kind, key, merged, stored.owners, dry_run=dry_run, previous=stored)

    def write_status(self, kind: Kind, name: str, body: dict[str, Any], *, request: str,
                     dry_run: bool) -> dict[str, Any]:
        """A write to a CRD's `status` subresource (`request`: update, patch or apply).

        Only `status.storedVersions` is taken (the spec sent is ignored); an empty or missing
        list becomes the storage version alone. kube-apiserver v1.35.4 does not check the list
        here: a version missing from spec.versions is refused by the next update of the CRD.
        """
        if (kind.group, kind.plural) != _CRDS:
            raise ApiError(404, "NotFound", f"subresource status of {kind.plural} is not "
                                            "emulated")
        stored = self._existing(kind, "", name)
        self._check_version(stored, body)
        current = list((stored.obj.get("status") or {}).get("storedVersions") or [])
        sent = body.get("status") or {}
        if request == "patch":
            status = {"storedVersions": current}
            _merge(status, sent, nulls_delete=True)
            versions = status.get("storedVersions")
        elif request == "apply" and "storedVersions" not in sent:
            versions = current
        else:
            versions = sent.get("storedVersions")
        obj = copy.deepcopy(stored.obj)
        obj["status"] = {"storedVersions": list(versions or [_storage_name(obj)])}
        return self._store(kind, self._key(kind, "", name), obj, stored.owners, dry_run=dry_run,
                           previous=stored)

    def stored_versions(self, group: str, plural: str) -> dict[str, str]:
        """The version each object of a custom resource is stored in, by "namespace/name"
        ("name" when cluster-scoped): the CRD's storage version at the object's last write."""
        return {f"{key[2]}/{key[3]}" if key[2] else key[3]:
                str(self.objects[key].obj["apiVersion"]).rpartition("/")[2]
                for key in sorted(self._indexed(group, plural))}

    def exists(self, kind: Kind, namespace: str, name: str) -> bool:
        """Whether the object is stored (a write to it updates rather than creates)."""
        return self._key(kind, namespace, name) in self.objects

    def delete(self, kind: Kind, namespace: str, name: str, dry_run: bool,
               policy: str | None = None) -> dict[str, Any]:
        """Delete (or mark deleting, with finalizers) and propagate to dependents as `policy`
        (Background, Foreground or Orphan; None: the kind's default) says."""
        stored = self._existing(kind, namespace, name)
        policy = policy or default_propagation(kind)
        result = self._with_status(kind, stored)
        if policy != "Background":
            # What the answer shows: the finalizer the garbage collector acts on.
            result["metadata"].setdefault("deletionTimestamp", _now())
            finalizer = "orphan" if policy == "Orphan" else "foregroundDeletion"
            result["metadata"]["finalizers"] = [*result["metadata"].get("finalizers", []),
                                                finalizer]
        if dry_run:
            return result
        self._delete(self._key(kind, namespace, name), policy)
        return result

    def _delete(self, key: Key, policy: str = "Background") -> None:
        stored = self.objects.get(key)
        if stored is None:
            return
        metadata = stored.obj["metadata"]
        if policy == "Orphan":
            self._orphan_dependents(metadata.get("uid"))
        elif policy == "Foreground" and key[:2] != ("", "namespaces"):
            metadata.setdefault("deletionTimestamp", _now())
            metadata["finalizers"] = [*metadata.get("finalizers", []), "foregroundDeletion"]
            metadata["resourceVersion"] = str(next(self._versions))
            for dependent in self._dependents(key, stored):
                self._delete(dependent, "Foreground")
            self._finish_foreground(key)
            return
        if key[:2] == ("", "namespaces"):
            # Terminating: its contents go first; it goes once nothing is left in it.
            metadata.setdefault("deletionTimestamp", _now())
            for inside in [k for k in self.objects if k[2] == key[3]]:
                self._delete(inside)
            if key not in self.objects or self._holds_objects(key[3]):
                return
        elif metadata.get("finalizers"):
            metadata.setdefault("deletionTimestamp", _now())
            metadata["resourceVersion"] = str(next(self._versions))
            return
        del self.objects[key]
        self._indexed(key[0], key[1]).discard(key)
        for dependent in self._dependents(key, stored):
            self._delete(dependent)
        for reference in metadata.get("ownerReferences") or []:
            owner = self._by_uid(reference.get("uid"))
            if owner is not None:
                self._finish_foreground(owner)
        namespace = self.objects.get(("", "namespaces", "", key[2]))
        if key[2] and namespace and namespace.obj["metadata"].get("deletionTimestamp") \
                and not self._holds_objects(key[2]):
            self._delete(("", "namespaces", "", key[2]))

    def _dependents(self, key: Key, stored: Stored) -> builtins.list[Key]:
        """What goes with an object: what it owns, and a CRD's objects."""
        uid = stored.obj["metadata"].get("uid")
        dependents = [k for k, s in self.objects.items()
                      if any(r.get("uid") == uid for r in
                             s.obj["metadata"].get("ownerReferences") or [])]
        if key[:2] == _CRDS:
            spec = stored.obj["spec"]
            dependents += list(self._indexed(spec["group"], spec["names"]["plural"]))
        return dependents

    def _by_uid(self, uid: str | None) -> Key | None:
        return next((k for k, s in self.objects.items() if s.obj["metadata"].get("uid") == uid),
                    None)

    def _orphan_dependents(self, uid: str | None) -> None:
        """The garbage collector's `orphan` finalizer: every dependent loses its reference to
        the owner (a write to each), and stays."""
        for key, stored in list(self.objects.items()):
            references = stored.obj["metadata"].get("ownerReferences") or []
            if not any(r.get("uid") == uid for r in references):
                continue
            kept = [r for r in references if r.get("uid") != uid]
            obj = copy.deepcopy(stored.obj)
            if kept:
                obj["metadata"]["ownerReferences"] = kept
            else:
                del obj["metadata"]["ownerReferences"]
            self._store(self._kind_of(key), key, obj, stored.owners, dry_run=False,
                        previous=stored)

    def _finish_foreground(self, key: Key) -> None:
        """An owner deleted in the foreground goes once no dependent that blocks it is left."""
        stored = self.objects.get(key)
        if stored is None or "foregroundDeletion" not in (
                stored.obj["metadata"].get("finalizers") or []):
            return
        uid = stored.obj["metadata"].get("uid")
        if any(r.get("uid") == uid and r.get("blockOwnerDeletion")
               for s in self.objects.values()
               for r in s.obj["metadata"].get("ownerReferences") or []):
            return
        metadata = stored.obj["metadata"]
        metadata["finalizers"] = [f for f in metadata["finalizers"] if f != "foregroundDeletion"]
        if not metadata["finalizers"]:
            del metadata["finalizers"]
        self._delete(key)

    def _kind_of(self, key: Key) -> Kind:
        found = next((k for k in self.kinds() if (k.group, k.plural) == key[:2]), None)
        return found or Kind(key[0], "", key[1], "", bool(key[2]))

    def _holds_objects(self, namespace: str) -> bool:
        return any(k[2] == namespace for k in self.objects)

    # ---- rules -------------------------------------------------------------------------

    def _key(self, kind: Kind, namespace: str, name: str) -> Key:
        return (kind.group, kind.plural, namespace if kind.namespaced else "", name)

    def _existing(self, kind: Kind, namespace: str, name: str) -> Stored:
        stored = self.objects.get(self._key(kind, namespace, name))
        if stored is None:
            raise ApiError(404, "NotFound", f'{kind.plural} "{name}" not found')
        return stored

    def _check_body(self, kind: Kind, namespace: str, name: str, body: dict[str, Any], *,
                    creating: bool) -> None:
        metadata = body.get("metadata") or {}
        if not name or metadata.get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the URL")
        if not _valid_name(kind, name):
            why = (" ".join(f"may not contain '{c}'" for c in "/%" if c in name)
                   or f"may not be '{name}'" if kind.group == "rbac.authorization.k8s.io"
                   else "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                        "characters, '-' or '.', and must start and end with an alphanumeric "
                        "character")
            raise ApiError(422, "Invalid", f'{kind.kind} "{name}" is invalid: metadata.name: '
                                           f'Invalid value: "{name}": {why}')
        if kind.namespaced:
            if not namespace:
                raise ApiError(400, "BadRequest", "a namespaced object needs a namespace")
            owner = self.objects.get(("", "namespaces", "", namespace))
            if owner is None:
                raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                               {"name": namespace, "kind": "namespaces"})
            if creating and owner.obj["metadata"].get("deletionTimestamp"):
                # The NamespaceLifecycle admission plugin: updates pass, creations do not.
                raise ApiError(403, "Forbidden", (
                    f'{kind.plural} "{name}" is forbidden: unable to create new content in '
                    f"namespace {namespace} because it is being terminated"), {
                    "name": name, "kind": kind.plural, "causes": [{
                        "reason": "NamespaceTerminating", "field": "metadata.namespace",
                        "message": f"namespace {namespace} is being terminated"}]})

    def _check_version(self, stored: Stored, body: dict[str, Any]) -> None:
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        current = stored.obj["metadata"]["resourceVersion"]
        if wanted and wanted != current:
            raise ApiError(409, "Conflict", "Operation cannot be fulfilled: the object has been "
                                            "modified; please apply your changes to the latest "
                                            "version and try again")

    def _conflicts(self, kind: Kind, stored: Stored, manager: str, config: dict[str, Any],
                   leaves: set[Leaf]) -> builtins.list[tuple[str, Leaf]]:
        # Values are compared as stored: `2000m` applied over a stored `2` is the same value.
        sent = copy.deepcopy(config)
        if (kind.group, kind.plural) in self.builtin:
            normalize(sent)
        conflicts = []
        for other, paths in sorted(stored.owners.items()):
            if other == manager:
                continue
            for path in sorted(paths & leaves):
                if _get(stored.obj, path) != _get(sent, path):
                    conflicts.append((other, path))
        return conflicts

    def _store(self, kind: Kind, key: Key, obj: dict[str, Any], owners: dict[str, set[Leaf]], *,
               dry_run: bool, previous: Stored | None = None) -> dict[str, Any]:
        obj = self._as_stored(key, obj)
        builtin = key[:2] in self.builtin
        metadata = obj.setdefault("metadata", {})
        metadata["name"] = key[3]
        if kind.namespaced:
            metadata["namespace"] = key[2]
        if key[:2] == ("", "namespaces"):
            metadata.setdefault("labels", {})["kubernetes.io/metadata.name"] = key[3]
        old = previous.obj["metadata"] if previous else {}
        for field_name in ("uid", "creationTimestamp", "resourceVersion", "generation",
                           "deletionTimestamp"):
            if field_name in old:
                metadata[field_name] = old[field_name]
        unchanged = previous is not None and _without_bookkeeping(previous.obj) == \
            _without_bookkeeping(obj) and (key[:2] != _CRDS or
                                           previous.obj.get("status") == obj.get("status"))
        counted = not builtin or key[:2] in _GENERATION_KINDS
        if previous is None:
            metadata.update(uid=str(uuid.uuid4()), creationTimestamp=_now())
            if counted:
                metadata["generation"] = 1
        if not unchanged:
            metadata["resourceVersion"] = str(next(self._versions))
            if previous is not None and counted and \
                    _generation_moves(key, builtin, previous.obj, obj):
                metadata["generation"] = int(old.get("generation", 1)) + 1
        now = time.monotonic()
        # A CRD stays Established through its updates (its names were accepted once).
        kept = previous is not None and (unchanged or _scaled_down(key, previous.obj, obj)
                                         or key[:2] == _CRDS)
        stored = Stored(obj, owners, previous.ready_at if kept and previous
                        else now + self._delay(kind),
                        previous.changed_at if unchanged and previous else now)
        if not dry_run:
            self.objects[key] = stored
            self._indexed(key[0], key[1]).add(key)
            if not unchanged:
                self.history.append(Written(key, copy.deepcopy(obj)))
            if metadata.get("deletionTimestamp") and not metadata.get("finalizers"):
                # The last finalizer is gone: the deletion that waited for it completes.
                self._delete(key)
            elif previous is None and key[:2] == ("", "namespaces"):
                self._furnish(key[3])
        return self._with_status(kind, stored)

    def _as_stored(self, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        """A copy of `obj` as it is stored: a Secret's stringData in data, empty omitempty maps
        left out, built-in objects normalized, custom objects in the storage version."""
        obj = copy.deepcopy(obj)
        builtin = key[:2] in self.builtin
        if key[:2] == ("", "secrets") and "stringData" in obj:
            data = obj.setdefault("data", {})
            for name, value in (obj.pop("stringData") or {}).items():
                data[name] = base64.b64encode(str(value).encode()).decode()
        _drop_empty_maps(obj, key[1] if builtin else "")
        if builtin:
            normalize(obj)
        else:
            # Stored in the CRD's storage version; read back in whichever version is asked.
            obj["apiVersion"] = self._storage_version(key[0], key[1]) or obj.get("apiVersion")
        return obj

    def _prepare(self, kind: Kind, key: Key, previous: Stored | None,
                 obj: dict[str, Any]) -> dict[str, Any]:
        """What the registry strategy does before storing (fields the server sets), then the
        checks against the old object: a 422 Invalid listing every field that may not change.
        Simpler: the real server validates after mutating admission; the emulator before
        every webhook (it runs none that mutate)."""
        obj = copy.deepcopy(obj)
        errors: builtins.list[FieldError] = []
        if key[:2] == ("", "services"):
            errors += self._cluster_ips(obj, previous.obj if previous else None)
        if key[:2] == _CRDS:
            errors += _stored_versions(obj, previous.obj if previous else None)
        if previous is not None:
            errors += update_errors(kind, previous.obj, self._as_stored(key, obj))
        if errors:
            raise invalid(kind, key[3], errors)
        if previous is not None and key[:2] == ("", "persistentvolumeclaims"):
            self._admit_resize(key, previous.obj, self._as_stored(key, obj))
        return obj

    def _admit_resize(self, key: Key, old: dict[str, Any], new: dict[str, Any]) -> None:
        """The PersistentVolumeClaimResize admission plugin: a (bound) claim's size changes
        only when its StorageClass has `allowVolumeExpansion: true`."""
        def size(obj: dict[str, Any]) -> Any:
            return _get(obj, ("spec", "resources", "requests", "storage"))

        if size(old) == size(new):
            return
        name = str((new.get("spec") or {}).get("storageClassName") or "")
        storage_class = self.objects.get(("storage.k8s.io", "storageclasses", "", name))
        if storage_class is not None and storage_class.obj.get("allowVolumeExpansion") is True:
            return
        raise ApiError(403, "Forbidden", (
            f'persistentvolumeclaims "{key[3]}" is forbidden: only dynamically provisioned pvc '
            "can be resized and the storageclass that provisions the pvc must support resize"),
            {"name": key[3], "kind": "persistentvolumeclaims"})

    def _cluster_ips(self, obj: dict[str, Any], old: dict[str, Any] | None,
                     ) -> builtins.list[FieldError]:
        """A Service's clusterIP: allocated on create (unless headless, `None`, or an
        ExternalName), kept when an update leaves it out, never changed."""
        spec = obj.setdefault("spec", {})
        if spec.get("type") == "ExternalName":
            return []
        before = ((old or {}).get("spec") or {}) if old else {}
        old_ips = before.get("clusterIPs") or ([before["clusterIP"]] if before.get("clusterIP")
                                               else [])
        ip, ips = spec.get("clusterIP"), spec.get("clusterIPs")
        if not ip and not ips:
            ip, ips = (old_ips[0], old_ips) if old_ips else (None, None)
        elif not ips:
            ips = [ip]
        elif not ip:
            ip = ips[0]
        elif old_ips and ip != old_ips[0] and ips == old_ips:
            ips = [ip, *ips[1:]]  # clusterIP changed alone: clusterIPs follows it
        if not ip:
            ip = self._free_cluster_ip()
            ips = [ip]
        spec["clusterIP"], spec["clusterIPs"] = ip, list(ips or [ip])
        if spec["clusterIPs"][0] != ip:
            return [invalid_value("spec.clusterIPs", spec["clusterIPs"],
                                  "first value must match `clusterIP`")]
        if old_ips:
            if spec["clusterIPs"][0] != old_ips[0]:
                return [invalid_value("spec.clusterIPs[0]", spec["clusterIPs"],
                                      "may not change once set")]
            return []
        return self._allocatable(ip)

    def _allocatable(self, ip: str) -> builtins.list[FieldError]:
        """A cluster IP a create names: in the range and free (the allocator's answers)."""
        if ip == "None":
            return []
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return [invalid_value("spec.clusterIPs[0]", ip, "must be a valid IP address")]
        if address not in SERVICE_RANGE:
            why = f"failed to allocate IP {ip}: the provided network does not match the " \
                  "current range"
        elif ip in self._cluster_ips_used():
            why = f"failed to allocate IP {ip}: provided IP is already allocated"
        else:
            return []
        return [invalid_value("spec.clusterIPs", [ip], why)]

    def _cluster_ips_used(self) -> set[str]:
        return {ip for key in self._indexed("", "services")
                for ip in (self.objects[key].obj.get("spec") or {}).get("clusterIPs") or []}

    def _free_cluster_ip(self) -> str:
        used = self._cluster_ips_used()
        hosts = SERVICE_RANGE.num_addresses
        while True:
            # Spread over the range's upper part, as the allocator prefers for dynamic IPs.
            offset = hosts // 16 + next(self._ip_counter) * 7919 % (hosts - hosts // 16 - 1)
            candidate = str(SERVICE_RANGE.network_address + offset)
            if candidate not in used:
                return candidate

    def _furnish(self, namespace: str) -> None:
        """What the controller manager puts in every new namespace."""
        # The ServiceAccount sets no field but its name: its writer owns none.
        account = {"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "default", "namespace": namespace}}
        self._store(self.builtin[("", "serviceaccounts")],
                    ("", "serviceaccounts", namespace, "default"), account,
                    {"kube-controller-manager": _owned(account)}, dry_run=False)
        root_ca = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "kube-root-ca.crt", "namespace": namespace, "annotations": {
                "kubernetes.io/description": "Contains a CA bundle that can be used to verify "
                "the kube-apiserver when using internal endpoints such as the internal service "
                "IP or kubernetes.default.svc. No other usage is guaranteed across "
                "distributions of Kubernetes clusters."}},
            "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nZW11bGF0ZWQ=\n"
                               "-----END CERTIFICATE-----\n"}}
        self._store(self.builtin[("", "configmaps")],
                    ("", "configmaps", namespace, "kube-root-ca.crt"), root_ca,
                    {"kube-controller-manager": _owned(root_ca)}, dry_run=False)

    def _storage_version(self, group: str, plural: str) -> str | None:
        """`group/version` a CRD stores its objects in, or None for a kind no CRD defines."""
        for key in self._indexed("apiextensions.k8s.io", "customresourcedefinitions"):
            spec = self.objects[key].obj["spec"]
            if (spec["group"], spec["names"]["plural"]) == (group, plural):
                for version in spec.get("versions") or []:
                    if version.get("storage"):
                        return f"{group}/{version['name']}"
        return None

    def _admit(self, kind: Kind, namespace: str, obj: dict[str, Any], operation: str,
               request: str) -> None:
        """Validate the object, then call every webhook that intercepts this write; fail when
        one cannot be reached. `request` (create, update, patch, apply) words decoding errors."""
        if (kind.group, kind.plural) == ("coordination.k8s.io", "leases"):
            _validate_lease(obj, request)
        for configuration in self._webhook_configurations():
            for hook in configuration.get("webhooks") or []:
                if not self._intercepts(hook, kind, namespace, obj, operation):
                    continue
                if hook.get("failurePolicy", "Fail") != "Fail":
                    continue
                service = (hook.get("clientConfig") or {}).get("service")
                injected = not _injects_ca(configuration) or self._injector_ready()
                if service and not (injected and
                                    self._service_ready(service["namespace"], service["name"])):
                    raise ApiError(500, "InternalError", (
                        f'Internal error occurred: failed calling webhook "{hook["name"]}": '
                        f'failed to call webhook: Post "https://{service["name"]}.'
                        f'{service["namespace"]}.svc:443": dial tcp: connect: connection refused'))

    def _webhook_configurations(self) -> Iterator[dict[str, Any]]:
        for plural in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
            for key in self._indexed("admissionregistration.k8s.io", plural):
                yield self.objects[key].obj

    def _indexed(self, group: str, plural: str) -> set[Key]:
        """Keys of every stored object of one kind (kept up to date by _store/_delete)."""
        return self._by_kind.setdefault((group, plural), set())

    def _intercepts(self, hook: dict[str, Any], kind: Kind, namespace: str,
                    obj: dict[str, Any], operation: str) -> bool:
        rules = hook.get("rules") or []
        if not any(_rule_matches(rule, kind, operation) for rule in rules):
            return False
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if not _selector_matches(hook.get("objectSelector"), labels):
            return False
        if kind.namespaced:
            stored = self.objects.get(("", "namespaces", "", namespace))
            namespace_labels = {"kubernetes.io/metadata.name": namespace,
                                **((stored.obj["metadata"].get("labels") or {}) if stored else {})}
            if not _selector_matches(hook.get("namespaceSelector"), namespace_labels):
                return False
        return True

    def _service_ready(self, namespace: str, name: str) -> bool:
        service = self.objects.get(("", "services", namespace, name))
        if service is None:
            return False
        selector = (service.obj.get("spec") or {}).get("selector") or {}
        workloads = [key for group, plural in _WORKLOADS for key in self._indexed(group, plural)]
        for key in workloads:
            stored = self.objects[key]
            if key[2] != namespace:
                continue
            pod_labels = ((stored.obj["spec"].get("template") or {}).get("metadata") or {}).get(
                "labels") or {}
            ready = self._available(key, stored)
            if ready and selector and all(pod_labels.get(k) == v for k, v in selector.items()):
                return True
        return False


def default_propagation(kind: Kind) -> str:
    """The deletion propagation a DELETE without one gets: batch/v1 Jobs orphan their pods
    (their registry's DefaultGarbageCollectionPolicy), everything else is Background."""
    return "Orphan" if (kind.group, kind.plural) == ("batch", "jobs") else "Background"


JOB_ORPHANS_WARNING = ('299 - "child pods are preserved by default when jobs are deleted; set '
                       'propagationPolicy=Background to remove them or set '
                       'propagationPolicy=Orphan to suppress this warning"')
"""The Warning header kube-apiserver v1.35.4 answers a DELETE of a Job without a policy."""


def _storage_name(crd: dict[str, Any]) -> str:
    versions = (crd.get("spec") or {}).get("versions") or []
    return next((v["name"] for v in versions if v.get("storage")), "")


def _stored_versions(crd: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    """`status.storedVersions`: the storage version on create; on each update the old list
    (whatever the client sent is ignored) with the storage version appended when new; every
    listed version must still be in spec.versions."""
    versions = list(((old or {}).get("status") or {}).get("storedVersions") or [])
    storage = _storage_name(crd)
    if storage and storage not in versions:
        versions.append(storage)
    crd["status"] = {"storedVersions": versions}
    if old is None:
        return []
    defined = {v.get("name") for v in (crd.get("spec") or {}).get("versions") or []}
    return [invalid_value(f"status.storedVersions[{i}]", version, (
        f"missing from spec.versions; {version} was previously a storage version, and must "
        f"remain in spec.versions until a storage migration ensures no data remains persisted "
        f"in {version} and removes {version} from status.storedVersions"))
        for i, version in enumerate(versions) if version not in defined]


def _scaled_down(key: Key, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a workload's change only lowers its replicas (it stays available meanwhile)."""
    if key[:2] not in _WORKLOADS:
        return False
    before, after = old.get("spec") or {}, new.get("spec") or {}
    rest = {k: v for k, v in before.items() if k != "replicas"} == {
        k: v for k, v in after.items() if k != "replicas"}
    return rest and int(after.get("replicas", 1)) < int(before.get("replicas", 1))


_EMPTY_DROPPED = {"secrets": ("data",), "configmaps": ("data", "binaryData")}


def _drop_empty_maps(obj: dict[str, Any], plural: str) -> None:
    """Remove the empty `omitempty` maps an object is not stored with ("": a custom resource)."""
    metadata = obj.get("metadata") or {}
    for name in ("labels", "annotations"):
        if metadata.get(name) == {}:
            del metadata[name]
    for name in _EMPTY_DROPPED.get(plural, ()):
        if obj.get(name) == {}:
            del obj[name]


def _validate_lease(lease: dict[str, Any], request: str) -> None:
    """The API server's checks of a Lease's spec (decoding first, then validation)."""
    spec = lease.get("spec") or {}
    metadata = lease.get("metadata") or {}
    for name in ("acquireTime", "renewTime"):
        value = spec.get(name)
        if value is None or (isinstance(value, str) and _MICROTIME.fullmatch(value)):
            continue
        why = f'parsing time "{value}" as "2006-01-02T15:04:05.000000Z07:00" (spec.{name})'
        if request == "apply":  # the applied object is converted after the merge
            raise ApiError(500, "InternalError", (
                f"failed to convert new object ({metadata.get('namespace')}/"
                f"{metadata.get('name')}; coordination.k8s.io/v1, Kind=Lease) to proper "
                "version: unable to convert unstructured object to coordination.k8s.io/v1, "
                f"Kind=Lease: {why}"))
        if request == "patch":  # the patched JSON does not decode
            raise ApiError(422, "Invalid", f' "" is invalid: patch: Invalid value: {why}')
        raise ApiError(400, "BadRequest", f'Lease in version "v1" cannot be handled as a '
                                          f"Lease: {why}")
    problems = []
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and duration <= 0:
        problems.append(f"spec.leaseDurationSeconds: Invalid value: {duration}: must be greater "
                        "than 0")
    transitions = spec.get("leaseTransitions")
    if transitions is not None and transitions < 0:
        problems.append(f"spec.leaseTransitions: Invalid value: {transitions}: must be greater "
                        "than or equal to 0")
    if problems:
        listed = problems[0] if len(problems) == 1 else f"[{', '.join(problems)}]"
        raise ApiError(422, "Invalid", f'Lease.coordination.k8s.io "{metadata.get("name", "")}" '
                                       f"is invalid: {listed}")


_MICROTIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})")
"""Go's layout 2006-01-02T15:04:05.000000Z07:00: exactly six digits of the second."""


def _injects_ca(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return obj.get("kind", "").endswith("WebhookConfiguration") and any(
        key.startswith("cert-manager.io/inject-ca-from") for key in annotations)


def _managed_fields(stored: Stored) -> list[dict[str, Any]]:
    """Who owns which fields, as `metadata.managedFields` (FieldsV1) reports it."""
    entries = []
    for owner, paths in sorted(stored.owners.items()):
        if not paths:
            continue  # a manager that owns no field has no entry
        fields: dict[str, Any] = {}
        for path in paths:
            node = fields
            for part in path:
                node = node.setdefault(f"f:{part}", {})
        manager = owner.removesuffix(_UPDATE_OWNER)
        update = owner.endswith(_UPDATE_OWNER) or manager in _NOT_APPLIED
        entries.append({"manager": manager, "operation": "Update" if update else "Apply",
                        "apiVersion": stored.obj.get("apiVersion"),
                        "fieldsType": "FieldsV1", "fieldsV1": fields})
    return entries


_NOT_APPLIED = frozenset({"before-first-apply", "profile-controller", "kube-controller-manager"})
_UPDATE_OWNER = "\tUpdate"
"""Suffix of an owner that wrote with an Update operation (POST with a fieldManager)."""


def _replicas(obj: dict[str, Any]) -> int:
    return int((obj.get("spec") or {}).get("replicas", 1))


def _workload_status(obj: dict[str, Any], ready: bool) -> dict[str, Any]:
    """A workload's status as its controller reports it (fields with Go's `omitempty` left
    out when zero: every count of a Deployment, all but `replicas` and `availableReplicas`
    of a StatefulSet; a Deployment's `terminatingReplicas` is always there)."""
    replicas = _replicas(obj)
    available = replicas if ready else 0
    generation = obj["metadata"].get("generation", 1)
    if obj["kind"] == "DaemonSet":
        return {"desiredNumberScheduled": 1, "numberReady": int(ready),
                "numberAvailable": int(ready), "updatedNumberScheduled": 1,
                "observedGeneration": generation}
    counts = {"replicas": replicas, "updatedReplicas": replicas, "readyReplicas": available,
              "availableReplicas": available}
    if obj["kind"] == "StatefulSet":
        counts["currentReplicas"] = replicas
        status = {"observedGeneration": generation,
                  **{k: v for k, v in counts.items() if v or k in ("replicas",
                                                                   "availableReplicas")}}
        return status
    counts["unavailableReplicas"] = replicas - available
    status = {"observedGeneration": generation, **{k: v for k, v in counts.items() if v},
              "terminatingReplicas": 0}
    status["conditions"] = [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
         "message": "Deployment has minimum availability."} if ready else
        {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
         "message": "Deployment does not have minimum availability."}]
    return status


def _rule_matches(rule: dict[str, Any], kind: Kind, operation: str) -> bool:
    def has(values: list[str] | None, value: str) -> bool:
        return bool(values) and ("*" in values or value in values)  # type: ignore[operator]

    return (has(rule.get("apiGroups"), kind.group) and has(rule.get("apiVersions"), kind.version)
            and has(rule.get("resources"), kind.plural)
            and has(rule.get("operations"), operation))


def _selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    # Written apart from kfops.cluster's copy on purpose: the emulator is the
    # oracle kfops is tested against, so it must not share kfops's mistakes.
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _parse_selector(text: str) -> dict[str, str | None]:
    wanted: dict[str, str | None] = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        wanted[key] = value if _ else None
    return wanted


_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _valid_name(kind: Kind, name: str) -> bool:
    if kind.group == "rbac.authorization.k8s.io":
        return name not in (".", "..") and not set(name) & {"/", "%"}
    return len(name) <= 253 and _SUBDOMAIN.fullmatch(name) is not None


def _matches(labels: dict[str, str], wanted: dict[str, str | None]) -> bool:
    return all(key in labels and (value is None or labels[key] == value)
               for key, value in wanted.items())


def _without_bookkeeping(obj: dict[str, Any]) -> dict[str, Any]:
    clean = copy.deepcopy(obj)
    clean.pop("status", None)
    metadata = clean.get("metadata") or {}
    for name in _BOOKKEEPING:
        metadata.pop(name, None)
    return clean


_IDENTITY = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
"""Fields that name the object: server-side apply tracks no owner for them."""


def _owned(config: dict[str, Any]) -> set[Leaf]:
    """The fields a write of `config` makes its manager own."""
    return set(_leaves(config)) - _IDENTITY


def _conflict_error(conflicts: list[tuple[str, Leaf]], api_version: str) -> ApiError:
    """409 Conflict worded as the API server's field manager words it."""
    def shown(owner: str) -> str:
        manager = owner.removesuffix(_UPDATE_OWNER)
        updated = owner.endswith(_UPDATE_OWNER) or manager in _NOT_APPLIED
        return f'"{manager}" using {api_version}' if updated else f'"{manager}"'

    if len(conflicts) == 1:
        owner, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {shown(owner)}: .{'.'.join(path)}"
    else:
        lines = []
        for owner in sorted({o for o, _ in conflicts}):
            lines.append(f"conflicts with {shown(owner)}:")
            lines += [f"- .{'.'.join(p)}" for o, p in conflicts if o == owner]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": [
        {"reason": "FieldManagerConflict", "message": f"conflict with {shown(owner)}",
         "field": "." + ".".join(path)} for owner, path in conflicts]})


_GENERATION_KINDS = {
    ("admissionregistration.k8s.io", plural) for plural in (
        "mutatingadmissionpolicies", "mutatingadmissionpolicybindings",
        "mutatingwebhookconfigurations", "validatingadmissionpolicies",
        "validatingadmissionpolicybindings", "validatingwebhookconfigurations")} | {
    ("apps", "daemonsets"), ("apps", "deployments"), ("apps", "replicasets"),
    ("apps", "statefulsets"), ("batch", "cronjobs"), ("batch", "jobs"), ("", "pods"),
    ("", "podtemplates"), ("", "replicationcontrollers"), ("discovery.k8s.io", "endpointslices"),
    ("flowcontrol.apiserver.k8s.io", "flowschemas"),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
    ("networking.k8s.io", "ingresses"), ("networking.k8s.io", "ingressclasses"),
    ("networking.k8s.io", "networkpolicies"), ("policy", "poddisruptionbudgets"),
    ("resource.k8s.io", "deviceclasses"), ("resource.k8s.io", "devicetaintrules"),
    ("resource.k8s.io", "resourceslices"), ("scheduling.k8s.io", "priorityclasses"),
    ("apiextensions.k8s.io", "customresourcedefinitions")}
"""Built-in kinds whose registry strategy sets `metadata.generation` (kube-apiserver v1.35.4's
pkg/registry: PrepareForCreate sets it to 1); other built-in kinds have none."""


def _generation_moves(key: Key, builtin: bool, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether an update moves the generation on (the rule in the module docstring)."""
    def desired(obj: dict[str, Any]) -> dict[str, Any]:
        skipped = ("metadata", "apiVersion") if not builtin else ("metadata", "status",
                                                                  "apiVersion", "kind")
        return {k: v for k, v in obj.items() if k not in skipped}

    if desired(old) != desired(new):
        return True
    return key[:2] == ("apps", "deployments") and \
        old["metadata"].get("annotations") != new["metadata"].get("annotations")


def _leaves(obj: Any, path: Leaf = ()) -> Iterator[Leaf]:
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            yield from _leaves(value, (*path, key))
    elif path:
        yield path


def _get(obj: Any, path: Leaf) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _remove(obj: dict[str, Any], path: Leaf) -> None:
    parents = [obj]
    for part in path[:-1]:
        child = parents[-1].get(part)
        if not isinstance(child, dict):
            return
        parents.append(child)
    parents[-1].pop(path[-1], None)
    for parent, part in zip(reversed(parents[:-1]), reversed(path[:-1]), strict=False):
        if parent.get(part) == {}:
            del parent[part]


def _merge(target: dict[str, Any], source: dict[str, Any], nulls_delete: bool = False) -> None:
    for key, value in source.items():
        if value is None and nulls_delete:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value, nulls_delete)
        else:
            target[key] = copy.deepcopy(value)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
