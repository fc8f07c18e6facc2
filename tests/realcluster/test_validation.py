"""kfops's offline validation against the real API server's, object by object.

Every object of the four starters' bundles (local, onprem, aks, generic) of both shipped
releases goes through a server-side dry-run apply with strict field validation once its
CRDs are Established; so do mutated copies of real objects (unknown fields, wrong types,
bad enums, missing required fields, a CRD's CEL rule, invalid names). kfops and the API
server must agree on each: the disagreements are counted, and the goal is 0 either way.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kfops.objects import describe, identity_of
from kfops.render import load_extra_crds
from kfops.validate import ExtraCrd, Validator
from tests.conftest import RELEASES, UPSTREAM
from tests.controlplane import ControlPlane
from tests.controlplane._versions import Binaries
from tests.controlplane._webhookless import without_webhooks
from tests.helpers.presets import render_preset
from tests.helpers.rest import Rest

pytestmark = pytest.mark.render
TARGETS = ("local", "onprem", "aks", "generic")
#: What the AKS starter's NodePools and AKSNodeClasses are checked against (Helm installs it).
KARPENTER_CRDS = UPSTREAM / "crds/karpenter-provider-azure-v1.14.2"


@dataclass
class Verdicts:
    """One release's objects, kfops's validator and the API server that judge them."""

    objects: list[dict[str, Any]]
    validator: Validator
    crds: list[dict[str, Any]]
    rest: Rest

    def kfops(self, obj: dict[str, Any]) -> list[str]:
        """kfops's problems with obj (checked with the release's CRDs)."""
        report = self.validator.report([*self.crds, obj])
        return [str(p) for p in report.problems]

    def server(self, obj: dict[str, Any]) -> str | None:
        """The API server's refusal of obj in a dry-run apply, or None when it accepts it."""
        answer = self.rest.apply(obj, dry_run=True, manager="kfops-validation")
        if answer.status_code in (200, 201):
            return None
        # 400 for what cannot be decoded, 422 for what fails validation, and 500 for a field
        # server-side apply cannot place ("field not declared in schema"); 403/404/409 would
        # mean the test itself is wrong
        assert answer.status_code in (400, 422, 500), (describe(obj), answer.text)
        return str(answer.json().get("message", answer.text))


@pytest.fixture(scope="module", params=RELEASES)
def verdicts(request: pytest.FixtureRequest, binaries: Binaries,
             tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Iterator[Verdicts]:
    """A release's starters rendered, and a control plane holding their CRDs and namespaces."""
    release = str(request.param)
    objects: dict[str, dict[str, Any]] = {}
    kubernetes = ""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFOPS_CACHE_DIR", str(shared_cache))
        patch.setenv("GITHUB_CLIENT_SECRET", "github-secret-from-env")
        patch.setenv("ENTRA_CLIENT_SECRET", "entra-secret-from-env")
        for target in TARGETS:
            result = render_preset(tmp_path_factory.mktemp(f"{target}-{release}"), target,
                                   release)
            kubernetes = str(result.bundle.lock["kubernetesVersion"])
            for item in result.bundle.objects:
                objects.setdefault(_key(item.obj), item.obj)
    extra = load_extra_crds([KARPENTER_CRDS])
    crds = [o for o in objects.values() if o["kind"] == "CustomResourceDefinition"]
    crds += [crd.crd for crd in extra]
    validator = Validator(kubernetes, tuple(ExtraCrd(c.crd, c.source) for c in extra))
    with ControlPlane.start(binaries, tmp_path_factory.mktemp(f"cp-{release}")) as plane:
        rest = Rest.from_kubeconfig(plane.kubeconfig)
        try:
            _install(rest, without_webhooks(crds),
                     [o for o in objects.values() if o["kind"] == "Namespace"])
            yield Verdicts(list(objects.values()), validator, crds, rest)
        finally:
            rest.close()


def _key(obj: dict[str, Any]) -> str:
    return f"{identity_of(obj)}:{obj['apiVersion']}:{sorted(obj.items())!r}"


def _install(rest: Rest, crds: list[dict[str, Any]], namespaces: list[dict[str, Any]]) -> None:
    """The CRDs (Established) and namespaces the dry runs need: stored for real."""
    for obj in [*crds, *namespaces]:
        answer = rest.apply(obj, manager="kfops-validation")
        assert answer.status_code in (200, 201), (describe(obj), answer.text)
    deadline = time.monotonic() + 120
    for crd in crds:
        while not _established(rest, crd):
            assert time.monotonic() < deadline, f"{describe(crd)} was not Established"
            time.sleep(0.1)


def _established(rest: Rest, crd: dict[str, Any]) -> bool:
    live = rest.get(crd).json()
    return any(c["type"] == "Established" and c["status"] == "True"
               for c in live.get("status", {}).get("conditions", []))


def test_every_rendered_object_is_judged_alike(verdicts: Verdicts) -> None:
    """kfops accepted each object it rendered: so must the API server (strict validation)."""
    problems = verdicts.validator.report(verdicts.crds + verdicts.objects).problems
    assert problems == []
    with ThreadPoolExecutor(max_workers=8) as pool:  # the API server answers side by side
        answers = list(pool.map(verdicts.server, verdicts.objects))
    refused = {describe(o): why for o, why in zip(verdicts.objects, answers, strict=True) if why}
    assert refused == {}, f"{len(refused)} of {len(verdicts.objects)} objects"


# -- mutated objects -------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set a field at a dotted path (numbers index lists), making maps on the way."""

    def mutate(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = obj
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return mutate


def _drop(path: str) -> Mutation:
    def mutate(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = obj
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]
    return mutate


def _rename(name: str) -> Mutation:
    return _set("metadata.name", name)


CONTAINER = "spec.template.spec.containers.0"
#: (what, kind, object name or "" for the first of its kind, the mutation)
MUTATIONS: list[tuple[str, str, str, Mutation]] = [
    ("unknown field", "Deployment", "", _set(f"{CONTAINER}.imagePullPolicyy", "Always")),
    ("unknown field", "Deployment", "", _set("spec.replicasCount", 2)),
    ("unknown field", "Service", "", _set("spec.portz", [])),
    ("unknown field", "ConfigMap", "", _set("metadata.labelz", {"a": "b"})),
    ("unknown field", "Profile", "", _set("spec.ownerz", "x")),
    ("unknown field", "VirtualService", "", _set("spec.hostz", ["x"])),
    ("wrong type", "Deployment", "", _set("spec.replicas", "two")),
    ("wrong type", "Service", "", _set("spec.ports.0.port", "eighty")),
    ("wrong type", "ConfigMap", "", _set("data", ["not", "a", "map"])),
    ("wrong type", "ClusterRole", "", _set("rules", {"verbs": "get"})),
    ("wrong type", "VirtualService", "", _set("spec.hosts", "one-host")),
    ("wrong type", "Profile", "", _set("spec.owner", "someone")),
    ("bad enum", "Service", "", _set("spec.type", "Loadbalancer")),
    ("bad enum", "Deployment", "", _set("spec.strategy", {"type": "Rolling"})),
    ("bad enum", "Deployment", "", _set(f"{CONTAINER}.imagePullPolicy", "Sometimes")),
    ("bad enum", "PersistentVolumeClaim", "", _set("spec.accessModes", ["ReadWriteSometimes"])),
    ("bad enum", "Service", "", _set("spec.ports.0.protocol", "QUIC")),
    ("missing required field", "Deployment", "", _drop("spec.selector")),
    ("missing required field", "Deployment", "", _drop(f"{CONTAINER}.name")),
    ("missing required field", "Service", "", _drop("spec.ports.0.port")),
    ("missing required field", "ClusterRoleBinding", "", _drop("roleRef")),
    ("missing required field", "Role", "", _drop("rules.0.verbs")),
    ("missing required field", "CustomResourceDefinition", "", _drop("spec.names")),
    ("missing required field", "Certificate", "", _drop("spec.secretName")),
    ("CEL rule", "NodePool", "", _set("spec.template.spec.requirements.0.key",
                                      "kubernetes.io/hostname")),
    ("CEL rule", "NodePool", "", _set("spec.disruption.consolidateAfter", "forever")),
    ("invalid name", "ConfigMap", "", _rename("Bad_Name")),
    ("invalid name", "Namespace", "", _rename("UPPER-case")),
    ("invalid name", "Deployment", "", _rename("Capital.Letters")),
    ("invalid name", "Profile", "", _rename("Bad_Profile")),
    ("invalid name", "ServiceAccount", "", _rename("-leading-dash")),
    ("invalid name", "Service", "", _rename("a" * 64)),
    ("invalid label value", "ConfigMap", "", _set("metadata.labels", {"app": "bad value!"})),
    ("out of range", "Deployment", "", _set("spec.replicas", -1)),
    ("out of range", "Service", "", _set("spec.ports.0.port", 70000)),
]


def _subject(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    for obj in objects:
        if obj["kind"] == kind and (not name or obj["metadata"]["name"] == name):
            return obj
    return None


def test_mutated_objects_are_judged_alike(verdicts: Verdicts) -> None:
    """Each mutation of a real object: kfops refuses it exactly when the API server does."""
    disagreements, judged = [], 0
    for what, kind, name, mutate in MUTATIONS:
        original = _subject(verdicts.objects, kind, name)
        if original is None:
            continue  # the release has no such object (NodePools come with the AKS starter)
        mutated = copy.deepcopy(original)
        mutate(mutated)
        judged += 1
        kfops, server = verdicts.kfops(mutated), verdicts.server(mutated)
        if bool(kfops) != bool(server):
            disagreements.append(f"{what} on {describe(mutated)}: kfops {kfops or 'accepts'}; "
                                 f"the API server {server or 'accepts'}")
    assert judged >= 30
    assert disagreements == [], f"{len(disagreements)} of {judged} disagree:\n" + "\n".join(
        disagreements)
