"""render(platform) -> Bundle: the whole pipeline from platform file to checked objects."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kfops._version import __version__
from kfops.catalog import (
    ReleaseCatalog,
    SelectedComponent,
    catalog_for,
    releases_matching,
    same_release,
    select_components,
)
from kfops.config import (
    MANIFEST_FILE_LIMIT,
    FileRefused,
    LoadedPlatform,
    PipelinesSettings,
    read_limited,
)
from kfops.errors import (
    ComponentSelectionError,
    ConfigError,
    InputError,
    RenderError,
    ValidationError,
    ValidationProblem,
)
from kfops.objects import PARENT_NAMESPACE, ApplySet
from kfops.validate import ExtraCrd, ValidationReport, Validator, kubernetes_version_problem

from ._assemble import assemble
from ._bundle import Bundle
from ._contributions import (
    Contributed,
    Contribution,
    EditableBundle,
    GeneratedValues,
    Phase,
    RenderContext,
    check_names,
    run_phase,
)
from ._documents import load_documents
from ._images import image_list
from ._kustomize import find_kustomize
from ._layout import lay_out
from ._paths import cache_root, sha256_text
from ._readers import restart_readers_of_generated
from ._remote import RemoteResolver
from ._repairs import repair_patches
from ._reviewed import generated_entries
from ._source import ReleaseSource, locate_release
from ._sources import SourceFetcher
from ._units import Unit, build_units, overlay_for
from ._workspace import Workspace, prepare_workspace


class RenderProgress(Protocol):
    """What a caller (the CLI's progress bar) is told while a render runs."""

    def step(self, name: str) -> None:
        """A new step starts."""

    def units(self, total: int) -> None:
        """How many kustomize builds (cached or not) the build step has."""

    def unit_done(self, label: str) -> None:
        """One build finished."""


class _Throwaway:
    """Generated values for one render, kept nowhere (a render without a state directory)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def generated(self, name: str, make: Callable[[], str]) -> str:
        if name not in self._values:
            self._values[name] = make()
        return self._values[name]

    def save(self) -> None:
        pass


class _Silent:
    def step(self, name: str) -> None:
        pass

    def units(self, total: int) -> None:
        pass

    def unit_done(self, label: str) -> None:
        pass


@dataclass(frozen=True)
class RenderOptions:
    """How to render: network use, extra CRD schemas, where caches live, progress."""

    offline: bool = False
    extra_crds: tuple[ExtraCrd, ...] = ()
    cache_dir: Path | None = None
    state_dir: Path | None = None
    """Where the composition root keeps generated values (default: `.kfops/` next to the
    platform file); the render itself only sees `state`."""
    state: GeneratedValues | None = None
    """The generated values to use (an install's state directory, plan's in-memory scratch);
    None: values made for this render alone, kept nowhere."""
    progress: RenderProgress = field(default_factory=_Silent)
    contributions: tuple[Contribution, ...] = ()
    """Features that edit, add or remove objects after assembly (see kfops.operations), run
    phase by phase."""
    write_state: bool = True
    """False (`kfops validate`): values are generated in memory only, and the state directory
    is read when it exists but never written."""


@dataclass
class RenderResult:
    """The bundle, its validation report and where the time went."""

    bundle: Bundle
    report: ValidationReport
    timings: dict[str, float]
    built: int
    cached: int
    workspace: Path
    """The prepared release copy the bundle was built from (for inspection)."""
    contributed: tuple[Contributed, ...] = ()
    """Each contribution, in the order it ran, with its time and warnings."""


def render(loaded: LoadedPlatform, options: RenderOptions | None = None) -> RenderResult:
    """Render and validate the platform; raise instead of returning a bad bundle."""
    options = options or RenderOptions()
    cache = options.cache_dir or cache_root()
    timings: dict[str, float] = {}
    progress = options.progress
    with _timed(timings, "prepare"):
        progress.step("preparing the release")
        source = locate_release(loaded, cache, options.offline)
        catalog = catalog_for(loaded.platform.spec.release.version, source.root)
        kubernetes = _kubernetes_version(loaded, catalog)
        selected = _select(loaded, catalog)
        _check_release_matches(loaded, source, selected)
        kustomize = find_kustomize()
        workspace = prepare_workspace(
            source, RemoteResolver.from_environment(_remote_cache(loaded, cache), options.offline),
            cache, [path for s in selected for path in s.paths],
        )
        labels = ApplySet(loaded.platform.metadata.name).member_labels()
        units = _units(loaded, selected, workspace, labels)
    validator = Validator(kubernetes, options.extra_crds, cache)
    with _timed(timings, "build"):
        progress.step("building components")
        progress.units(len(units))
        built, stats = build_units(
            units, kustomize, workspace, cache,
            on_done=lambda u: progress.unit_done(f"{u.component}: {u.path}"),
            # Built-in kinds are checked while later builds still run (CPU that would idle).
            on_built=lambda documents: validator.precheck(
                [obj for _, obj in documents], [sha256_text(text) for text, _ in documents]),
        )
    timings["parse"] = stats.parse_seconds
    with _timed(timings, "assemble"):
        progress.step("assembling the bundle")
        installed = {s.name for s in selected}
        assembled = assemble(units, built, catalog, installed)
        editable = EditableBundle(assembled.objects, labels, assembled.warnings)
        state = options.state or _Throwaway()
        context = RenderContext(
            loaded, catalog, frozenset(installed), state,
            SourceFetcher(loaded, cache, options.offline), kubernetes,
        )
        contributed, images = _contribute(options.contributions, context, editable)
        restart_readers_of_generated(editable)
        validator.add_crds(editable.schemas)
        order = [*(s.name for s in selected), *editable.added]
        files = lay_out(editable.finish(), order, frozenset(editable.prereqs))
        objects = [o.obj for objs in files.values() for o in objs]
    with _timed(timings, "validate"):
        progress.step("validating")
        report = validator.report(
            objects, [sha256_text(o.text) for objs in files.values() for o in objs])
        validator.save()
    if not report.ok:
        error = ValidationError(report.problems)
        for note in _patched_notes(report.problems, editable):
            error.add_note(note)
        raise error
    lock = _lock(loaded, source, workspace=workspace, catalog=catalog, selected=selected,
                 kubernetes=kubernetes, kustomize=kustomize.version,
                 counts={path: len(objs) for path, objs in files.items()})
    lock["generated"] = generated_entries(editable.generated)
    _record_contributions(lock, editable, context.sources.fetched)
    if options.write_state:  # only for a valid bundle: a refused render leaves no state behind
        state.save()
    warnings = [*loaded.warnings, *_catalog_warnings(catalog), *editable.warnings,
                *report.not_evaluated]
    bundle = Bundle(files, images, lock, warnings, editable.generated, dict(editable.files))
    return RenderResult(bundle, report, timings, stats.built, stats.cached, workspace.root,
                        tuple(contributed))


def _patched_notes(problems: Sequence[ValidationProblem],
                   editable: EditableBundle) -> list[str]:
    """Which of the administrator's patches changed an object that fails validation."""
    failing = {p.object_id for p in problems}
    entry = editable.lock_entries().get("patches")
    report = entry[1] if entry else []
    return [f"{name} was changed by {patch['patch']} ({patch['target']})"
            for patch in report for name in patch["changed"] if name in failing]


def _contribute(contributions: Sequence[Contribution], context: RenderContext,
                bundle: EditableBundle) -> tuple[list[Contributed], list[str]]:
    """Run the contributions phase by phase; what each did, and the images the bundle pulls.

    The images are listed between the shape and the images phase: images.txt names
    them as the release and the features do, before an air gap moves them.
    """
    check_names(contributions)
    contributed = run_phase(Phase.SHAPE, contributions, context, bundle)
    images = image_list(item.obj for item in bundle.items)
    contributed += run_phase(Phase.IMAGES, contributions, context, bundle)
    contributed += run_phase(Phase.CHECKS, contributions, context, bundle)
    return contributed, images


_KFOPS_KEYS = ("sources", "files")
"""Lock keys kfops writes only sometimes (sources) or later (files, in Bundle.file_texts)."""


def _record_contributions(lock: dict[str, Any], editable: EditableBundle,
                          fetched: dict[str, str]) -> None:
    """What features added to the lock: components, sources they read, their own entries."""
    lock["components"] += [{"name": name, "reason": why} for name, why in editable.added.items()]
    if fetched:
        lock["sources"] = {s: f"sha256:{d}" for s, d in sorted(fetched.items())}
    kept = {*lock, *_KFOPS_KEYS}
    for key, (owner, value) in editable.lock_entries().items():
        if key in kept:
            raise RenderError(f"contribution {owner} records {key} in the lock, which kfops "
                              "itself writes")
        lock[key] = value


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - start


def _remote_cache(loaded: LoadedPlatform, cache: Path) -> Path:
    configured = loaded.platform.spec.release.remote_cache
    if not configured:
        return cache / "remote"
    return loaded.checked_path(configured, "cache", ("spec", "release", "remoteCache"))


def _kubernetes_version(loaded: LoadedPlatform, catalog: ReleaseCatalog) -> str:
    chosen = loaded.platform.spec.kubernetes_version
    version = chosen or catalog.tested_kubernetes
    problem = kubernetes_version_problem(version)
    if problem:
        raise ConfigError([loaded.problem(("spec", "kubernetesVersion"), problem)])
    return version


def _select(loaded: LoadedPlatform, catalog: ReleaseCatalog) -> tuple[SelectedComponent, ...]:
    components = loaded.platform.spec.components
    variants = {}
    if isinstance(components.pipelines, PipelinesSettings):
        variants["pipelines"] = components.pipelines.definitions
    try:
        return select_components(catalog, components.chosen(), variants)
    except ComponentSelectionError as error:
        raise ConfigError([
            loaded.problem(("spec", "components", key), why) for key, why in error.problems
        ]) from None


def _check_release_matches(loaded: LoadedPlatform, source: ReleaseSource,
                           selected: Sequence[SelectedComponent]) -> None:
    """spec.release.version names the release the source holds (its folders, its git tag)."""
    version = loaded.platform.spec.release.version
    missing = sorted({p for s in selected for p in s.paths if not (source.root / p).is_dir()})
    if missing:
        matches = releases_matching(source.root)
        looks = (f"its folders are those of {' and '.join(matches)}" if matches
                 else "its folders match no release kfops knows")
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3
                                          else "")
        problem = f"{version} does not match the release at {source.origin}: it has no {shown}"
    elif source.tag and _is_release_tag(source.tag) and not same_release(version, source.tag):
        problem = f"{version} does not match the release at {source.origin}"
        looks = f"that checkout is at tag {source.tag}"
    else:
        return
    raise ConfigError([loaded.problem(("spec", "release", "version"), (
        f"{problem} ({looks}); set spec.release.version to the checkout's release, or "
        f"spec.release.source to a {version} checkout"))])


def _is_release_tag(tag: str) -> bool:
    return re.match(r"^v?\d+\.\d+(\.\d+)?$", tag) is not None


def _units(loaded: LoadedPlatform, selected: Sequence[SelectedComponent], workspace: Workspace,
           labels: dict[str, str]) -> list[Unit]:
    release = workspace.root / "release"
    return [
        Unit(s.name, path, overlay_for(
            path, labels, s.component.namespace,
            repair_patches(release, path),
        ))
        for s in selected for path in s.paths
    ]


def _catalog_warnings(catalog: ReleaseCatalog) -> list[str]:
    if catalog.known:
        return []
    warnings = [f"release {catalog.version} is not in kfops's catalog: components were read from "
                "its example/kustomization.yaml"]
    warnings += [f"example/ path {path} matches no known component; it is rendered as "
                 "component 'unrecognised'" for path in catalog.unrecognised]
    return warnings


def _lock(
    loaded: LoadedPlatform, source: ReleaseSource, *, workspace: Workspace,
    catalog: ReleaseCatalog, selected: Sequence[SelectedComponent], kubernetes: str,
    kustomize: str, counts: dict[str, int],
) -> dict[str, Any]:
    applyset = ApplySet(loaded.platform.metadata.name)
    release: dict[str, Any] = {
        "version": catalog.version,
        "source": source.origin,
        "sourceDigest": f"sha256:{source.digest}",
        "inCatalog": catalog.known,
        "remoteBases": [{"url": url, "digest": f"sha256:{d}"} for url, d in workspace.remotes],
    }
    if source.is_archive:
        release["archiveSha256"] = source.digest
    return {
        "apiVersion": "kfops.io/v1alpha1",
        "kind": "BundleLock",
        "platform": loaded.platform.metadata.name,
        "target": loaded.platform.spec.target,
        "kfopsVersion": __version__,
        "configDigest": f"sha256:{loaded.digest()}",
        "kubernetesVersion": kubernetes,
        "kustomizeVersion": kustomize,
        "release": release,
        "applySet": {"parent": f"Secret {PARENT_NAMESPACE}/{applyset.parent_name}",
                     "id": applyset.id},
        "components": [{"name": s.name, "reason": s.reason, "paths": list(s.paths)}
                       for s in selected],
        "objects": counts,
    }


def load_extra_crds(folders: Sequence[Path]) -> tuple[ExtraCrd, ...]:
    """The CustomResourceDefinitions in YAML files of `folders` (for `--crds`)."""
    found: list[ExtraCrd] = []
    for folder in folders:
        files = sorted(folder.rglob("*.y*ml")) if folder.is_dir() else [folder]
        for file in files:
            for obj in load_documents(_read_manifest(file), origin=str(file)):
                if obj.get("kind") == "CustomResourceDefinition":
                    found.append(ExtraCrd(obj, str(file)))
    return tuple(found)


def _read_manifest(file: Path) -> str:
    try:
        return read_limited(file, MANIFEST_FILE_LIMIT).decode("utf-8")
    except FileRefused as error:
        raise InputError(str(error)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {file}: {error}") from None


@dataclass(frozen=True)
class ReleaseInputs:
    """Where the release and its remote bases come from on this machine (for an offline copy)."""

    root: Path
    """The release checkout (or the unpacked archive)."""
    remote_cache: Path
    """The folder remote kustomize bases are resolved from."""


def release_inputs(loaded: LoadedPlatform, cache_dir: Path | None = None) -> ReleaseInputs:
    """The folders a render of `loaded` read, without network (after a render filled the cache)."""
    cache = cache_dir or cache_root()
    return ReleaseInputs(locate_release(loaded, cache, offline=True).root,
                         _remote_cache(loaded, cache))
