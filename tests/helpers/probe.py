"""Issue 20's reliability probe: objects kfops never applied, and what prune and uninstall do.

Eighteen foreign objects are planted in a cluster holding the 26.03 platform
(a TLS Secret in istio-system, ConfigMaps and Secrets in platform namespaces,
a `--live` Profile with a ConfigMap in its namespace, a Katib Experiment, an
unrelated namespace, a user's PVC in a file profile's namespace, lookalikes
carrying copied kfops labels, one of them in `default`); then components are
switched off, a profile removed, the install renamed with a component off in
the same edit, and uninstalled keeping data, then purging it. Every step is
planned first, so plan and apply can be compared. Used by
tests/cluster/test_foreign_objects.py and benchmarks/prune_probe.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx

from kfops.cluster import (
    ApplyOptions,
    Cluster,
    UninstallSummary,
    WaitSettings,
    uninstall,
)
from kfops.config import Profile, Taint, load_platform
from kfops.objects import PART_OF, ApplySet
from kfops.operations import PlanResult, apply_platform, plan_platform
from kfops.render import RenderOptions
from kfops.tenancy import LiveProfiles
from tests.conftest import MANIFESTS, REMOTE_CACHE
from tests.emulator import RunningEmulator

TEAM = "  profiles:\n  - name: team-a\n    owner: alice@example.com\n"
FOUR_OFF = ("kserve", "knativeServing", "katib", "trainer")

Key = tuple[str, str, str, str]
"""(group, plural, namespace, name), as the emulator stores objects."""


def platform_yaml(folder: Path, name: str = "lab", profiles: bool = True,
                  off: tuple[str, ...] = ()) -> Path:
    """The 26.03 local platform, with team-a's profile and the components `off`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "platform.yaml"
    components = "".join(f"    {c}: false\n" for c in off)
    path.write_text(
        "apiVersion: kfops.io/v1alpha1\nkind: Platform\n"
        f"metadata:\n  name: {name}\n"
        "spec:\n  target: local\n  release:\n    version: \"26.03\"\n"
        f"    source: {MANIFESTS / '26.03'}\n    remoteCache: {REMOTE_CACHE}\n"
        + (TEAM if profiles else "")
        + (f"  components:\n{components}" if off else ""))
    return path


@dataclass(frozen=True)
class Foreign:
    """One planted object: where the emulator keeps it, and how it was made."""

    key: Key
    how: str


def _labels(platform: str) -> dict[str, str]:
    """kfops's member labels, copied by hand onto an object kfops never applied."""
    return ApplySet(platform).member_labels()


def plant(cluster: Cluster, url: str, platform: str, waits: WaitSettings) -> list[Foreign]:
    """The probe's 18 foreign objects. Lookalikes are created the way `kubectl create`
    does (POST, another field manager), so only their copied labels look like kfops's."""
    planted: list[Foreign] = []

    def applied(obj: dict[str, Any], key: Key) -> None:
        cluster.apply(obj)
        planted.append(Foreign(key, "applied by another tool"))

    def posted(path: str, obj: dict[str, Any], key: Key) -> None:
        answer = httpx.post(url + path, json=obj)
        assert answer.status_code == 201, answer.text
        planted.append(Foreign(key, "created with copied kfops labels"))

    def config_map(namespace: str, name: str) -> None:
        applied({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": name, "namespace": namespace}, "data": {"a": "b"}},
                ("", "configmaps", namespace, name))

    def secret(namespace: str, name: str, kind: str = "Opaque") -> None:
        data = {"tls.crt": "Y2VydA==", "tls.key": "a2V5"} if kind.endswith("tls") else \
            {"token": "dG9rZW4="}
        applied({"apiVersion": "v1", "kind": "Secret", "type": kind, "data": data,
                 "metadata": {"name": name, "namespace": namespace}},
                ("", "secrets", namespace, name))

    secret("istio-system", "kubeflow-tls", "kubernetes.io/tls")
    config_map("knative-serving", "user-cm")
    secret("knative-serving", "user-token")
    config_map("auth", "user-cm")
    config_map("cert-manager", "user-cm")
    config_map("kubeflow", "team-notes")
    secret("kubeflow", "s3-credentials")
    config_map("kubeflow-system", "user-cm")
    LiveProfiles(cluster, waits).create(Profile(name="live-team", owner="dana@example.com"),
                                        Taint())
    planted.append(Foreign(("kubeflow.org", "profiles", "", "live-team"),
                           "kfops profile create --live"))
    config_map("live-team", "notebook-config")
    applied({"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment",
             "metadata": {"name": "mnist", "namespace": "kubeflow-user-example-com"},
             "spec": {"objective": {"type": "maximize", "objectiveMetricName": "accuracy"}}},
            ("kubeflow.org", "experiments", "kubeflow-user-example-com", "mnist"))
    applied({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "unrelated"}},
            ("", "namespaces", "", "unrelated"))
    config_map("unrelated", "data")
    applied({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "workspace", "namespace": "team-a"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}},
            ("", "persistentvolumeclaims", "team-a", "workspace"))
    copied = {"labels": _labels(platform)}
    for namespace in ("default", "kubeflow"):
        posted(f"/api/v1/namespaces/{namespace}/configmaps",
               {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "lookalike", "namespace": namespace, **copied}},
               ("", "configmaps", namespace, "lookalike"))
    posted("/apis/rbac.authorization.k8s.io/v1/clusterroles",
           {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "lookalike-reader", **copied}, "rules": []},
           ("rbac.authorization.k8s.io", "clusterroles", "", "lookalike-reader"))
    posted("/api/v1/namespaces/istio-system/secrets",
           {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "lookalike", "namespace": "istio-system", **copied}},
           ("", "secrets", "istio-system", "lookalike"))
    return planted


@dataclass
class Step:
    """One step of the probe and what it measured."""

    name: str
    lost: list[str] = field(default_factory=list)
    """Foreign objects gone after the step."""
    plan_differs: list[str] = field(default_factory=list)
    """Objects plan and apply disagree about (`prune`/`keep` on one side only)."""
    members_left: list[str] = field(default_factory=list)
    """Inventory members still on the cluster after an uninstall."""
    unexplained: list[str] = field(default_factory=list)
    """Members left that the uninstall did not report as kept."""


@dataclass
class Probe:
    """The probe on one emulated cluster."""

    emulator: RunningEmulator
    cluster: Cluster
    folder: Path
    waits: WaitSettings
    planted: list[Foreign] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    steps: list[Step] = field(default_factory=list)
    last_summary: Any = None
    """The ApplySummary or UninstallSummary of the last step."""

    def install(self) -> None:
        """Apply the default platform with team-a's profile, then plant the 18 objects."""
        self._apply(platform_yaml(self.folder))
        self.ids.add(ApplySet("lab").id)
        self.planted = plant(self.cluster, self.emulator.url, "lab", self.waits)

    def change(self, name: str, path: Path, **options: Any) -> Step:
        """Plan, then apply, a changed platform file; compare the two."""
        loaded = load_platform(path)
        self.ids.add(ApplySet(loaded.platform.metadata.name).id)
        plan = plan_platform(loaded, self.cluster, RenderOptions(offline=True),
                             options=ApplyOptions(**options))
        summary = self.last_summary = self._apply(path, **options).summary
        step = Step(name, self._lost(), _differences(plan, summary.pruned, summary.kept))
        self.steps.append(step)
        return step

    def remove(self, name: str, platform: str, **flags: bool) -> Step:
        """Uninstall `platform` with `flags` (purge_data, purge_foreign)."""
        target = ApplySet(platform)
        summary = self.last_summary = uninstall(self.cluster, target, waits=self.waits,
                                                **flags)
        left = self.members_left()
        step = Step(name, self._lost(), [], left, _unexplained(left, summary))
        self.steps.append(step)
        return step

    def members_left(self) -> list[str]:
        """Objects carrying one of the install's ids that kfops applied (not lookalikes)."""
        return sorted(self.member_ids())

    def member_ids(self) -> dict[str, str]:
        """The ApplySet id of each object kfops applied that is still there."""
        planted = {f.key for f in self.planted}
        with self.emulator.lock:
            stored = {key: entry.obj for key, entry in self.emulator.state.objects.items()}
        found = {_describe(obj): (obj["metadata"].get("labels") or {}).get(PART_OF, "")
                 for key, obj in stored.items() if key not in planted}
        return {what: applyset for what, applyset in found.items() if applyset in self.ids}

    def _apply(self, path: Path, **options: Any) -> Any:
        options.setdefault("waits", self.waits)
        return apply_platform(load_platform(path), self.cluster, ApplyOptions(**options),
                              render_options=RenderOptions(offline=True))

    def _lost(self) -> list[str]:
        with self.emulator.lock:
            present = set(self.emulator.state.objects)
        return sorted(f"{f.key} ({f.how})" for f in self.planted if f.key not in present)


def _describe(obj: dict[str, Any]) -> str:
    namespace = obj["metadata"].get("namespace")
    name = obj["metadata"]["name"]
    return f"{obj['kind']} {namespace}/{name}" if namespace else f"{obj['kind']} {name}"


def _differences(plan: PlanResult, pruned: list[str], kept: list[str]) -> list[str]:
    planned_prune = {e.object for e in plan.entries if e.action == "prune"}
    planned_keep = {e.object for e in plan.entries if e.action == "keep"}
    done_keep = {entry.split(":")[0] for entry in kept}
    return sorted((planned_prune ^ set(pruned)) | (planned_keep ^ done_keep))


def _unexplained(left: list[str], summary: UninstallSummary) -> list[str]:
    reported = {entry.split(":")[0] for entry in summary.kept + summary.stuck}
    return [what for what in left if what not in reported]


def run(emulator: RunningEmulator, cluster: Cluster, folder: Path, waits: WaitSettings,
        between: Callable[[Probe], None] = lambda probe: None) -> Probe:
    """Every step of the probe; `between` runs after each (assertions, measurements)."""
    probe = Probe(emulator, cluster, folder, waits)
    probe.install()
    probe.change("four components switched off", platform_yaml(folder, off=FOUR_OFF))
    between(probe)
    probe.change("a profile removed", platform_yaml(folder, profiles=False, off=FOUR_OFF))
    between(probe)
    probe.change("rename + a component off in one edit (--adopt lab)",
                 platform_yaml(folder, "lab2", profiles=False, off=(*FOUR_OFF, "tensorboards")),
                 adopt=("lab",))
    between(probe)
    probe.remove("uninstall, data kept", "lab2")
    between(probe)
    probe.remove("uninstall --purge-data", "lab2", purge_data=True)
    between(probe)
    return probe
