"""`spec.patches` and `spec.extraManifests` on both shipped releases: a diff of two real renders
changes the targeted objects and adds the extra ones, nothing else; bad input is located."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kfops.catalog import catalog_for
from kfops.config import load_platform
from kfops.errors import ConfigError, ValidationError
from kfops.objects import Identity, describe
from kfops.render import (
    BundleObject,
    EditableBundle,
    RenderContext,
    RenderResult,
    SourceFetcher,
    customization_features,
)
from kfops.targets import starter_text
from tests.conftest import MANIFESTS, ROOT
from tests.helpers.hostile import STARTER_ENV
from tests.helpers.presets import fill, offline, render_preset

#: Both shipped releases, and the targets whose renders differ most (gateway, TLS, Karpenter).
CASES = (("local", "v1.10.2"), ("onprem", "26.03"), ("aks", "26.03"))

PATCHES = """\
  patches:
  - target: {group: apps, kind: Deployment, name: ml-pipeline, namespace: kubeflow}
    patch: |
      spec: {template: {spec: {nodeSelector: {pool: pipelines}}}}
  - target: {kind: Deployment, name: ml-pipeline-ui, namespace: kubeflow}
    patch: |
      - op: replace
        path: /spec/replicas
        value: 2
  - path: patches/mysql.yaml
"""
#: A patch without a target names its object; containers merge by name (strategic merge).
MYSQL_PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mysql
  namespace: kubeflow
spec:
  template:
    spec:
      containers:
      - name: mysql
        resources:
          limits: {memory: 4Gi}
"""
EXTRAS = "  extraManifests: [./company/]\n"
POLICIES = """\
apiVersion: v1
kind: Namespace
metadata:
  name: company-tools
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: company-egress
  namespace: kubeflow
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: contacts, namespace: company-tools}
  data: {oncall: ops@example.com}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: oncall-bot, namespace: company-tools}
spec:
  selector: {matchLabels: {app: oncall-bot}}
  template:
    metadata: {labels: {app: oncall-bot}}
    spec:
      containers: [{name: bot, image: "docker.io/company/oncall-bot:1.0"}]
"""
WIDGETS = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: first
  namespace: company-tools
spec:
  size: 3
"""
PATCHED = {"Deployment kubeflow/ml-pipeline", "Deployment kubeflow/ml-pipeline-ui",
           "Deployment kubeflow/mysql"}
EXTRA = {"Namespace company-tools", "NetworkPolicy kubeflow/company-egress",
         "ConfigMap company-tools/contacts", "CustomResourceDefinition widgets.example.com",
         "Widget company-tools/first", "Deployment company-tools/oncall-bot"}


def _write_company(folder: Path) -> None:
    (folder / "company" / "crds").mkdir(parents=True, exist_ok=True)
    (folder / "company" / "policies.yaml").write_text(POLICIES)
    (folder / "company" / "crds" / "widgets.yaml").write_text(WIDGETS)
    (folder / "company" / ".draft.yaml").write_text("not: [an object")  # hidden: not read
    (folder / "patches").mkdir(exist_ok=True)
    (folder / "patches" / "mysql.yaml").write_text(MYSQL_PATCH)


def _customized(folder: Path, release: str, spec_extra: str = PATCHES + EXTRAS,
                target: str = "local") -> RenderResult:
    _write_company(folder)
    return render_preset(folder, target, release, lambda text: text + spec_extra)


@pytest.fixture(scope="module", params=CASES, ids=["-".join(c) for c in CASES])
def renders(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            shared_cache: Path) -> tuple[RenderResult, RenderResult]:
    """(the starter's render, the same with patches and extra manifests) of one release."""
    target, release = request.param
    folder = tmp_path_factory.mktemp(release)  # one state directory: the same secrets
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("KFOPS_CACHE_DIR", str(shared_cache))  # as the tests' own renders
        for name, value in STARTER_ENV.items():  # the starters' connector secrets
            environment.setenv(name, value)
        plain = render_preset(folder, target, release)
        return plain, _customized(folder, release, target=target)


def _by_identity(result: RenderResult) -> dict[Identity, BundleObject]:
    return {item.identity: item for item in result.bundle.objects}


def test_patches_change_their_targets_and_nothing_else(
        renders: tuple[RenderResult, RenderResult]) -> None:
    plain, custom = (_by_identity(r) for r in renders)

    changed = {describe(custom[i].obj) for i in plain if plain[i].obj != custom[i].obj}
    added = {describe(custom[i].obj) for i in set(custom) - set(plain)}

    assert changed == PATCHED
    assert added == EXTRA
    assert set(plain) <= set(custom)
    # Objects no patch touched keep kustomize's exact text.
    assert all(plain[i].text == custom[i].text for i in plain
               if describe(plain[i].obj) not in PATCHED)


def test_each_patch_does_what_it_says(renders: tuple[RenderResult, RenderResult]) -> None:
    custom = {describe(item.obj): item.obj for item in renders[1].bundle.objects}

    pipeline = custom["Deployment kubeflow/ml-pipeline"]["spec"]["template"]["spec"]
    assert pipeline["nodeSelector"] == {"pool": "pipelines"}
    assert custom["Deployment kubeflow/ml-pipeline-ui"]["spec"]["replicas"] == 2
    [mysql] = [c for c in custom["Deployment kubeflow/mysql"]["spec"]["template"]["spec"][
        "containers"] if c["name"] == "mysql"]
    # Strategic merge: the container keeps its image and gains the limit.
    assert mysql["image"].startswith(("mysql", "docker.io/library/mysql", "gcr.io"))
    assert mysql["resources"]["limits"]["memory"] == "4Gi"
    # kfops's labels stay on patched objects (inventory and prune need them).
    assert custom["Deployment kubeflow/ml-pipeline"]["metadata"]["labels"][
        "app.kubernetes.io/managed-by"] == "kfops"


def test_the_lock_records_what_each_patch_changed_and_each_file_read(
        renders: tuple[RenderResult, RenderResult]) -> None:
    lock = renders[1].bundle.lock

    assert [(p["patch"], p["changed"]) for p in lock["patches"]] == [
        ("spec.patches[0]", ["Deployment kubeflow/ml-pipeline"]),
        ("spec.patches[1]", ["Deployment kubeflow/ml-pipeline-ui"]),
        ("spec.patches[2]", ["Deployment kubeflow/mysql"]),
    ]
    assert {"company/crds/widgets.yaml", "company/policies.yaml"} <= set(lock["sources"])
    assert {"name": "extraManifests", "reason": "spec.extraManifests"} in lock["components"]


def test_extra_objects_go_to_their_stage_labelled_like_the_rest(
        renders: tuple[RenderResult, RenderResult]) -> None:
    files = renders[1].bundle.files

    placed = {describe(item.obj): path for path, items in files.items() for item in items
              if item.component == "extraManifests"}
    assert placed == {
        "CustomResourceDefinition widgets.example.com": "00-crds/extra-manifests.yaml",
        "Namespace company-tools": "10-namespaces/extra-manifests.yaml",
        "NetworkPolicy kubeflow/company-egress": "30-platform/extra-manifests.yaml",
        "ConfigMap company-tools/contacts": "30-platform/extra-manifests.yaml",
        "Widget company-tools/first": "30-platform/extra-manifests.yaml",
        "Deployment company-tools/oncall-bot": "30-platform/extra-manifests.yaml",
    }
    # Their images are pulled like the release's (images.txt, mirrored for an air gap).
    assert "docker.io/company/oncall-bot:1.0" in renders[1].bundle.images
    for item in (i for items in files.values() for i in items if i.component == "extraManifests"):
        labels = item.obj["metadata"]["labels"]
        assert labels["kfops.io/platform"] == renders[1].bundle.lock["platform"]


# Bad input: the two contributions run on a copy of the 26.03 render's objects, with the real
# platform file and fetcher; each error names the field (exit 2) before anything is written.

@pytest.fixture(scope="module")
def base_objects(tmp_path_factory: pytest.TempPathFactory,
                 shared_cache: Path) -> list[BundleObject]:
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("KFOPS_CACHE_DIR", str(shared_cache))
        return render_preset(tmp_path_factory.mktemp("base"), "local", "26.03").bundle.objects


Run = Callable[[str], EditableBundle]


@pytest.fixture
def run(tmp_path: Path, base_objects: list[BundleObject]) -> Run:
    """Run the customization features for a platform file with `spec_extra`."""

    def contribute(spec_extra: str) -> EditableBundle:
        _write_company(tmp_path)
        path = tmp_path / "platform.yaml"
        path.write_text(offline(fill(starter_text("local")), "26.03") + spec_extra)
        loaded = load_platform(path)
        bundle = EditableBundle([BundleObject(copy.deepcopy(o.obj), o.text, o.component)
                                 for o in base_objects], {"app.kubernetes.io/managed-by": "kfops"})
        context = RenderContext(loaded, catalog_for("26.03", MANIFESTS / "26.03"), frozenset(),
                                _NoState(), SourceFetcher(loaded, tmp_path / "cache", True),
                                "1.34")
        for feature in customization_features():
            with bundle.recording_for(feature.name):
                feature.contribute(context, bundle)
        return bundle

    return contribute


class _NoState:
    def generated(self, name: str, make: Callable[[], str]) -> str:
        raise AssertionError("customizations generate no value")

    def save(self) -> None:
        pass


def _problem(error: pytest.ExceptionInfo[ConfigError]) -> str:
    [problem] = error.value.problems
    return str(problem)


def test_a_target_that_selects_nothing_is_an_error_with_the_nearest_names(run: Run) -> None:
    with pytest.raises(ConfigError) as error:
        run("  patches:\n  - target: {kind: Deployment, name: ml-pipelines}\n"
            "    patch: '{spec: {replicas: 2}}'\n")

    problem = _problem(error)
    assert "spec.patches[0].target: selects no object" in problem
    assert "nearest: Deployment kubeflow/ml-pipeline" in problem


def test_a_patch_that_does_not_parse_names_the_platform_file_line(run: Run) -> None:
    with pytest.raises(ConfigError) as error:
        run("  patches:\n  - target: {kind: Deployment, name: ml-pipeline}\n"
            "    patch: |\n      spec:\n        replicas: [2\n")

    problem = _problem(error)
    lines = (Path(error.value.problems[0].file).name, problem)
    assert lines[0] == "platform.yaml"
    # The block starts after `patch: |`; libyaml reports the unclosed list at its end.
    assert "spec.patches[0].patch: platform.yaml spec.patches[0].patch:" in problem
    assert "YAML:" in problem


def test_a_patch_file_that_does_not_parse_names_its_line(run: Run, tmp_path: Path) -> None:
    (tmp_path / "patches").mkdir(exist_ok=True)
    (tmp_path / "patches" / "bad.yaml").write_text("spec:\n  replicas: 2\n   bad: indent\n")

    with pytest.raises(ConfigError) as error:
        run("  patches:\n  - target: {kind: Deployment, name: ml-pipeline}\n"
            "    path: patches/bad.yaml\n")

    assert "spec.patches[0].path: patches/bad.yaml:3: YAML:" in _problem(error)


def test_a_json_patch_that_cannot_apply_names_the_patch(run: Run) -> None:
    with pytest.raises(ConfigError) as error:
        run("  patches:\n  - target: {kind: Deployment, name: ml-pipeline}\n"
            "    patch: '[{op: replace, path: /spec/nothing/here, value: 1}]'\n")

    problem = _problem(error)
    assert "spec.patches[0]: kustomize cannot apply it" in problem
    assert "kfops-patch-" not in problem  # the temporary folder is not shown
    assert "/spec/nothing/here" in problem


def test_a_json_patch_needs_a_target(run: Run) -> None:
    with pytest.raises(ConfigError) as error:
        run("  patches:\n  - patch: '[{op: remove, path: /spec/replicas}]'\n")

    assert "needs a target" in _problem(error)


def test_a_patch_may_not_rename_an_object(run: Run) -> None:
    with pytest.raises(ConfigError) as error:
        run("  patches:\n  - target: {kind: ConfigMap, name: katib-config}\n"
            "    patch: '[{op: replace, path: /metadata/name, value: other}]'\n")

    assert "changes the kind, name or namespace" in _problem(error)


def test_an_extra_object_that_collides_with_a_rendered_one_names_both(
        run: Run, tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: ml-pipeline, namespace: kubeflow}\n")

    with pytest.raises(ConfigError) as error:
        run("  extraManifests: [mine.yaml]\n")

    problem = _problem(error)
    assert "spec.extraManifests[0]: mine.yaml (document 1): Service kubeflow/ml-pipeline is " \
           "already in the bundle (component pipelines)" in problem
    assert "spec.patches" in problem


def test_a_manifest_that_does_not_parse_names_the_file_and_line(run: Run,
                                                                tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: ConfigMap\n  name: x\n")

    with pytest.raises(ConfigError) as error:
        run("  extraManifests: [broken.yaml]\n")

    assert "spec.extraManifests[0]: broken.yaml:6: YAML:" in _problem(error)


def test_a_url_that_is_not_cached_offline_names_the_cache(run: Run, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        run("  extraManifests: [https://example.com/policies.yaml]\n")

    problem = _problem(error)
    assert "https://example.com/policies.yaml is not in the cache" in problem
    assert str(tmp_path / "cache" / "sources") in problem


def test_a_patch_that_makes_an_object_invalid_is_refused_by_validation(
        tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as error:
        _customized(tmp_path, "26.03", "  patches:\n  - target: {kind: Deployment, name: "
                    "ml-pipeline}\n    patch: '{spec: {replicas: many}}'\n")

    assert any("Deployment kubeflow/ml-pipeline" in str(p) and "replicas" in str(p)
               for p in error.value.problems)
    # The message says which of the administrator's patches made it so.
    assert "Deployment kubeflow/ml-pipeline was changed by spec.patches[0] (kind=Deployment, " \
           "name=ml-pipeline)" in error.value.lines()


def test_patch_and_manifest_paths_follow_the_path_rules(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(offline(fill(starter_text("local")), "26.03")
                    + "  patches:\n  - path: /etc/passwd\n  extraManifests: [./missing/]\n")

    with pytest.raises(ConfigError) as error:
        load_platform(path)

    shown = str(error.value)
    assert "spec.patches[0].path: /etc/passwd" in shown
    assert "spec.extraManifests[0]: ./missing/ does not exist" in shown


def _doc_files() -> dict[str, str]:
    """The YAML examples of docs/customizing.md, by the file their first line names."""
    text = (ROOT / "docs" / "customizing.md").read_text()
    blocks = re.findall(r"```yaml\n# (\S+)\n(.*?)```", text, re.S)
    return dict(blocks)


def test_the_customizing_guide_example_renders_as_written(tmp_path: Path) -> None:
    files = _doc_files()
    for name, body in files.items():
        if name != "platform.yaml":
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(body)
    spec = files["platform.yaml"].removeprefix("spec:\n")

    result = render_preset(tmp_path, "local", "26.03", lambda text: text + spec)

    assert [p["changed"] for p in result.bundle.lock["patches"]] == [
        ["Deployment kubeflow/mysql"], ["Deployment kubeflow/ml-pipeline-ui"],
        ["Deployment kubeflow/katib-controller", "Deployment kubeflow/katib-ui"]]
    assert any(describe(o.obj) == "NetworkPolicy kubeflow/company-egress"
               for o in result.bundle.objects)
