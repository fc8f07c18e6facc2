"""Validate rendered objects offline: built-in kinds, custom resources, CEL rules.

Results are cached per object digest and the schema it was checked against
(the built-in schemas of a Kubernetes version, or the digest of the CRD that
defines the kind), so a re-render validates only objects that changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from kfops._version import __version__
from kfops.errors import ValidationProblem
from kfops.objects import BUILTIN_CLUSTER_SCOPED, describe

from ._apiserver import builtin_problems, label_problems, name_problems
from ._builtin import BuiltinSchemas, supported_versions
from ._cel import CelEvaluator, rule_outcomes
from ._crd import CrdSchemas, CrdVersion
from ._messages import schema_problem
from ._report import ValidationReport

_MAX_PER_OBJECT = 5
_CACHE_FORMAT = "3"


@dataclass(frozen=True)
class ExtraCrd:
    """A CustomResourceDefinition from outside the bundle (e.g. Karpenter's), with its origin."""

    crd: dict[str, Any]
    source: str


def kubernetes_version_problem(version: str) -> str | None:
    """Why `version` cannot be validated against, or None when it can."""
    versions = supported_versions()
    if version in versions:
        return None
    return f"no Kubernetes schemas for {version}; available: {versions[0]} to {versions[-1]}"


def object_digest(obj: dict[str, Any]) -> str:
    """A stable digest of an object's content."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def validate_objects(
    objects: Sequence[dict[str, Any]],
    kubernetes_version: str,
    extra_crds: Sequence[ExtraCrd] = (),
    digests: Sequence[str] | None = None,
    cache_dir: Path | None = None,
) -> ValidationReport:
    """Check every object; the report lists problems and rules not evaluated."""
    validator = Validator(kubernetes_version, extra_crds, cache_dir)
    report = validator.report(objects, digests)
    validator.save()
    return report


class Validator:
    """Validates objects, remembering results per object digest and schema.

    `precheck` validates objects of built-in kinds as they become available
    (a render calls it while other kustomize builds are still running);
    `report` validates everything, custom resources against the CRDs among the
    objects, reusing what `precheck` and earlier runs found.
    """

    def __init__(
        self, kubernetes_version: str, extra_crds: Sequence[ExtraCrd] = (),
        cache_dir: Path | None = None,
    ) -> None:
        self._version = kubernetes_version
        self._extra = tuple(extra_crds)
        self._builtin_key = _builtin_key(kubernetes_version)
        self._cache_file = (cache_dir / "validation" / f"{_CACHE_FORMAT}-{kubernetes_version}.json"
                            if cache_dir else None)
        self._remembered = _read_cache(self._cache_file)
        self._fresh: dict[str, Any] = {}
        self._checker = _Checker(kubernetes_version, extra_crds)

    def add_crds(self, extra_crds: Sequence[ExtraCrd]) -> None:
        """Validate custom resources against these CRDs too (from now on)."""
        self._extra += tuple(extra_crds)
        self._checker.add_crds(extra_crds)

    def precheck(self, objects: Sequence[dict[str, Any]], digests: Sequence[str]) -> None:
        """Validate the objects of built-in kinds now; custom resources wait for `report`."""
        for obj, digest in zip(objects, digests, strict=True):
            if self._checker.is_builtin(obj):
                self._result(obj, f"{digest}:{self._builtin_key}")

    def report(
        self, objects: Sequence[dict[str, Any]], digests: Sequence[str] | None = None
    ) -> ValidationReport:
        """Validate every object (custom resources against the CRDs among them)."""
        digests = list(digests) if digests is not None else [object_digest(o) for o in objects]
        self._checker.learn(objects)
        keys = _schema_keys(self._builtin_key, objects, digests, self._extra)
        report = ValidationReport()
        for obj, digest in zip(objects, digests, strict=True):
            key = f"{digest}:{keys.get(_kind_key(obj), self._builtin_key)}"
            report.cached += key in self._remembered
            result = self._result(obj, key)
            report.checked += 1
            report.problems += [ValidationProblem(*p) for p in result["problems"]]
            report.not_evaluated += result["not_evaluated"]
        report.not_evaluated = sorted(set(report.not_evaluated))
        return report

    def save(self) -> None:
        """Keep new results for the next run."""
        if self._cache_file is not None and self._fresh:
            _write_cache(self._cache_file, {**self._remembered, **self._fresh})
            self._remembered.update(self._fresh)
            self._fresh = {}

    def _result(self, obj: dict[str, Any], key: str) -> dict[str, list[Any]]:
        result = self._remembered.get(key) or self._fresh.get(key)
        if result is None:
            result = self._checker.check(obj)
            self._fresh[key] = result
        return result


def _builtin_key(version: str) -> str:
    """What results for built-in kinds depend on: kfops, kubernetes-validate, the version."""
    return hashlib.sha256(
        f"{__version__}\0{metadata.version('kubernetes-validate')}\0{version}".encode()
    ).hexdigest()[:16]


def _kind_key(obj: dict[str, Any]) -> tuple[str, str] | None:
    return (str(obj.get("apiVersion", "")).rpartition("/")[0], str(obj.get("kind", "")))


def _schema_keys(
    builtin: str, objects: Sequence[dict[str, Any]], digests: Sequence[str],
    extra: Sequence[ExtraCrd],
) -> dict[tuple[str, str] | None, str]:
    """What each custom kind's result depends on besides the object: its CRD.

    Keying results this way keeps them valid when unrelated CRDs come and go,
    so toggling one component re-validates only that component's objects.
    """
    keys: dict[tuple[str, str] | None, str] = {None: builtin}
    crds = [(e.crd, object_digest(e.crd)) for e in extra]
    crds += [(o, d) for o, d in zip(objects, digests, strict=True)
             if o.get("kind") == "CustomResourceDefinition"]
    for crd, digest in crds:
        spec = crd.get("spec") or {}
        kind = (str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", "")))
        keys[kind] = hashlib.sha256(f"{builtin}\0{digest}".encode()).hexdigest()[:16]
    return keys


def _read_cache(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(data, separators=(",", ":")))
    temp.replace(path)


class _Checker:
    """Checks single objects; schemas and CEL programs are built only when first needed."""

    def __init__(self, version: str, extra: Sequence[ExtraCrd]) -> None:
        self.builtin = BuiltinSchemas(version)
        self.crds = CrdSchemas(self.builtin)
        self.version = version
        self._cel: CelEvaluator | None = None
        self._extra = tuple(extra)
        self.learn([])

    def add_crds(self, extra: Sequence[ExtraCrd]) -> None:
        """Use these CRDs too, at the next `learn`."""
        self._extra += tuple(extra)

    def learn(self, objects: Sequence[dict[str, Any]]) -> None:
        """Use the CRDs among `objects` (and the extra ones) for custom resources."""
        self.crds = CrdSchemas(self.builtin)
        for crd in self._extra:
            self.crds.add(crd.crd, crd.source)
        for obj in objects:
            if obj.get("kind") == "CustomResourceDefinition":
                self.crds.add(obj, "the bundle")

    def is_builtin(self, obj: dict[str, Any]) -> bool:
        """Whether `obj` is of a kind Kubernetes itself defines (no CRD can change its schema)."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        return (isinstance(api_version, str) and isinstance(kind, str)
                and self.builtin.validator(api_version, kind) is not None)

    def check(self, obj: dict[str, Any]) -> dict[str, list[Any]]:
        who = describe(obj)
        problems: list[tuple[str, str]] = []
        not_evaluated: list[str] = []
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        name = (obj.get("metadata") or {}).get("name")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not name:
            problems.append(("", "apiVersion, kind and metadata.name are required"))
        else:
            group, _, version = api_version.rpartition("/")
            versions = self.crds.versions(group, kind)
            if versions is not None:
                problems += self._custom(obj, versions, version, not_evaluated, who)
            else:
                problems += self._built_in(obj, api_version, kind)
        problems = sorted(set(problems))[:_MAX_PER_OBJECT]
        return {
            "problems": [[who, path, text] for path, text in problems],
            "not_evaluated": not_evaluated,
        }

    def _built_in(self, obj: dict[str, Any], api_version: str, kind: str) -> list[tuple[str, str]]:
        validator = self.builtin.validator(api_version, kind)
        if validator is None:
            return [("", f"no schema for {api_version} {kind}: not a built-in kind of Kubernetes "
                         f"{self.version}, and no CustomResourceDefinition defines it")]
        problems = [schema_problem(e) for e in validator.iter_errors(obj)]
        problems += _scope_problems(obj, namespaced=kind not in BUILTIN_CLUSTER_SCOPED)
        problems += builtin_problems(obj) + label_problems(obj)
        return problems + name_problems(obj, custom=False)

    def _custom(
        self, obj: dict[str, Any], versions: dict[str, CrdVersion], version: str,
        not_evaluated: list[str], who: str,
    ) -> list[tuple[str, str]]:
        served = versions.get(version)
        if served is None or not served.served:
            offered = ", ".join(v for v, d in sorted(versions.items()) if d.served)
            source = next(iter(versions.values())).source
            return [("apiVersion", f"version {version} is not served by the CRD "
                                   f"(from {source}); served: {offered}")]
        problems = [schema_problem(e) for e in self.crds.validator(served).iter_errors(obj)]
        problems += _scope_problems(obj, served.namespaced) + name_problems(obj, custom=True)
        problems += label_problems(obj)
        if self.crds.has_rules(served.group, served.kind, served.version):
            for outcome in rule_outcomes(served.schema, obj, self._evaluator()):
                if outcome.failed:
                    problems.append((outcome.path, f"{outcome.message} (rule: {outcome.rule})"))
                else:
                    not_evaluated.append(
                        f"{who}: {outcome.path or '(object)'}: rule not evaluated: "
                        f"{outcome.rule} ({outcome.reason})"
                    )
        return problems

    def _evaluator(self) -> CelEvaluator:
        if self._cel is None:
            self._cel = CelEvaluator()
        return self._cel


def _scope_problems(obj: dict[str, Any], namespaced: bool) -> list[tuple[str, str]]:
    has_namespace = bool((obj.get("metadata") or {}).get("namespace"))
    if namespaced and not has_namespace:
        return [("metadata.namespace", "namespaced kind without a namespace (it would land in "
                                       "whatever namespace kubectl defaults to)")]
    return []
