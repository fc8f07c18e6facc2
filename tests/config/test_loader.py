"""Loading platform.yaml: every mistake is one located line, nothing passes silently."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kfops.config import load_platform, parse_platform
from kfops.errors import ConfigError

HEAD = "apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n  target: local\n"


def spec(block: str) -> str:
    """A block of `spec` fields, written unindented in the test."""
    return textwrap.indent(textwrap.dedent(block), "  ")


def problems(text: str, where: Path = Path("/nonexistent/platform.yaml")) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_platform(textwrap.dedent(text), where)
    assert caught.value.exit_code == 2
    return [str(p) for p in caught.value.problems]


def test_smallest_file_is_three_lines_and_takes_release_defaults() -> None:
    loaded = parse_platform(HEAD, Path("/x/platform.yaml"))
    spec = loaded.platform.spec
    assert spec.release.version == "26.03"
    assert spec.components.chosen() == {}
    assert spec.service_type == "ClusterIP"
    assert loaded.platform.metadata.name == "kubeflow"


@pytest.mark.parametrize("word", ["yes", '"yes"', "on", "'true'", "1"])
def test_yaml_1_2_words_are_not_booleans(word: str) -> None:
    shown = {"yes": '"yes"', '"yes"': '"yes"', "on": '"on"', "'true'": '"true"', "1": "1"}[word]
    assert problems(HEAD + f"  components:\n    katib: {word}\n") == [
        f"platform.yaml:6 spec.components.katib: expected true or false, got {shown}"
    ]


def test_unknown_key_suggests_the_close_one() -> None:
    assert problems(HEAD + "  components:\n    katbi: true\n") == [
        'platform.yaml:6 spec.components.katbi: unknown key "katbi" (did you mean "katib"?)'
    ]


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    [line] = problems(HEAD + "  tls:\n    zzz: 1\n")
    assert line.startswith('platform.yaml:6 spec.tls.zzz: unknown key "zzz"; allowed: mode,')


def test_top_level_typo() -> None:
    assert problems("apiVersion: kfops.io/v1alpha1\nkind: Platform\nspce:\n  target: local\n") == [
        "platform.yaml:1 spec: required, but missing",
        'platform.yaml:3 spce: unknown key "spce" (did you mean "spec"?)',
    ]


def test_strings_are_not_integers_and_numbers_are_not_strings() -> None:
    text = HEAD + '  gpu:\n    timeSlicing: {replicas: "16"}\n  kubernetesVersion: 1.33\n'
    assert problems(text) == [
        'platform.yaml:6 spec.gpu.timeSlicing.replicas: expected an integer, got "16"',
        "platform.yaml:7 spec.kubernetesVersion: expected a string, got 1.33",
    ]


def test_every_problem_is_reported_at_once() -> None:
    lines = problems(HEAD + (
        "  ingress:\n"
        "    serviceType: Loadbalancer\n"
        "  profiles:\n"
        "  - {name: Team_A, owner: alice@example.com, quota: {cpu: 1.5}}\n"
    ))
    assert lines == [
        "platform.yaml:6 spec.ingress.serviceType: expected ClusterIP, NodePort or LoadBalancer, "
        'got "Loadbalancer"',
        "platform.yaml:8 spec.profiles[0].name: expected a DNS label: lower-case letters, digits "
        "and '-', starting and ending with a letter or digit, at most 63 characters, "
        'got "Team_A"',
        "platform.yaml:8 spec.profiles[0].quota.cpu: expected a non-negative Kubernetes "
        "quantity such as 16, 500m, 64Gi, got 1.5",
    ]


def test_placeholder_left_in_is_an_error_not_a_default() -> None:
    text = HEAD.replace("local", "onprem") + spec("""\
          ingress:
            host: "<fill in: the DNS name users open>"
          metallb:
            addresses: ["<fill in: free addresses>"]
        """)
    assert problems(text) == [
        "platform.yaml:6 spec.ingress.host: placeholder left in: fill in the DNS name users open",
        "platform.yaml:8 spec.metallb.addresses[0]: placeholder left in: fill in free addresses",
    ]


def test_plain_secret_is_refused_without_echoing_it() -> None:
    [line] = problems(HEAD + spec("""\
          auth:
            connectors:
            - {type: github, id: gh, name: GitHub, clientID: abc, clientSecret: hunter2-secret}
        """))
    assert "hunter2-secret" not in line
    assert line == (
        "platform.yaml:7 spec.auth.connectors[0].clientSecret: secret values never go in the "
        "file: use {env: NAME} or {file: path}"
    )


def test_missing_environment_variable_and_unreadable_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KFOPS_TEST_UNSET", raising=False)
    text = HEAD + spec("""\
        ingress: {host: kf.example.com}
        auth:
          connectors:
          - {type: github, id: gh, name: GitHub, clientID: a, clientSecret: {env: KFOPS_TEST_UNSET}}
          - {type: gitlab, id: gl, name: GitLab, clientID: b, clientSecret: {file: secret.txt}}
    """)
    lines = problems(text, tmp_path / "platform.yaml")
    assert lines[0] == ("platform.yaml:8 spec.auth.connectors[0].clientSecret: "
                        "environment variable KFOPS_TEST_UNSET is not set")
    assert lines[1] == (f"platform.yaml:9 spec.auth.connectors[1].clientSecret: "
                        f"secret.txt does not exist (looked for {tmp_path / 'secret.txt'})")
    monkeypatch.setenv("KFOPS_TEST_UNSET", "x")
    (tmp_path / "secret.txt").write_text("s3cret")
    parse_platform(textwrap.dedent(text), tmp_path / "platform.yaml")


def test_release_source_path_is_relative_to_the_file(tmp_path: Path) -> None:
    text = HEAD + "  release:\n    source: ./manifests\n"
    assert problems(text, tmp_path / "platform.yaml") == [
        f"platform.yaml:6 spec.release.source: ./manifests does not exist "
        f"(looked for {tmp_path / 'manifests'})"
    ]
    (tmp_path / "manifests").mkdir()
    loaded = parse_platform(text, tmp_path / "platform.yaml")
    assert loaded.resolve_path("./manifests") == tmp_path / "manifests"


def test_cross_section_rules_point_at_the_field() -> None:
    assert problems(HEAD + "  tls: {mode: selfSigned}\n  karpenter: {nodePools: []}\n") == [
        "platform.yaml:5 spec.tls.mode: mode selfSigned needs spec.ingress.host "
        "(the name the certificate is for)",
        "platform.yaml:6 spec.karpenter: only for target aks (target is local)",
    ]


def test_duplicate_keys_and_syntax_errors_are_located() -> None:
    assert problems(HEAD + "  target: aks\n")[0].startswith("platform.yaml:5: YAML syntax:")
    assert problems(HEAD + "  release: [\n")[0].startswith("platform.yaml:")


def test_yaml_1_1_directive_is_refused() -> None:
    assert problems("%YAML 1.1\n---\n" + HEAD) == [
        "platform.yaml:1: only YAML 1.2 is read; remove the %YAML 1.1 directive"
    ]


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_platform(tmp_path / "platform.yaml")
    assert "write one with `kfops init`" in str(caught.value)


def test_values_of_later_sections_are_checked_today() -> None:
    good = HEAD.replace("local", "aks") + spec("""\
          karpenter:
            nodePools:
            - {name: gpu, gpu: true, skuFamilies: [NC], consolidateAfter: 10m, expireAfter: 720h}
          azure: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: kf,
                  clusterName: kf, location: japaneast}
          airgap: {registry: "registry.internal:5000"}
          profiles:
          - name: team-a
            owner: alice@example.com
            contributors: [{email: bob@example.com, role: edit}]
            quota: {cpu: "16", memory: 64Gi, nvidia.com/gpu: "2"}
            podDefaults: [pipelineAccess, gpuToleration]
          auth:
            users:
            - email: alice@example.com
              passwordHash: "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFr4LCP9UeYRf09v1pKzIxe"
          gpu: {enabled: true}
        """)
    parse_platform(good, Path("/x/platform.yaml"))
    bad = good.replace("10m", "ten minutes").replace("registry.internal:5000",
                                                      "https://registry.internal")
    assert problems(bad) == [
        "platform.yaml:7 spec.karpenter.nodePools[0].consolidateAfter: expected a duration "
        'such as 30s, 10m, 720h, or Never, got "ten minutes"',
        "platform.yaml:10 spec.airgap.registry: expected a registry host with optional port "
        "and path, without a scheme (registry.internal:5000 or registry.internal/kubeflow), "
        'got "https://registry.internal"',
    ]


def test_quota_keys_with_dots_are_quoted_in_paths() -> None:
    [line] = problems(
        HEAD + "  profiles:\n  - name: a\n    owner: a@b.c\n    quota: {nvidia.com/gpu: two}\n")
    assert line.startswith('platform.yaml:8 spec.profiles[0].quota["nvidia.com/gpu"]: expected a')


def test_config_digest_ignores_formatting() -> None:
    one = parse_platform(HEAD + "  components: {katib: false}\n", Path("/x/p.yaml"))
    two = parse_platform(HEAD + "  components:\n    # off\n    katib: false\n", Path("/x/p.yaml"))
    assert one.digest() == two.digest()


def test_a_password_typed_where_the_hash_belongs_is_not_echoed() -> None:
    [line] = problems(HEAD + "  auth:\n"
                             "    users: [{email: a@example.com, passwordHash: hunter2}]\n")
    assert "hunter2" not in line
    assert line.startswith(
        "platform.yaml:6 spec.auth.users[0].passwordHash: expected a bcrypt hash")


@pytest.mark.parametrize(("block", "expected"), [
    ("patches:\n- target: {kind: Deployment}\n",
     "spec.patches[0]: expected exactly one of `patch` (inline) or `path` (a file)"),
    ("patches:\n- {target: {kind: Deployment}, patch: 'spec: {}', path: p.yaml}\n",
     "spec.patches[0]: expected exactly one of `patch` (inline) or `path` (a file)"),
    ("patches:\n- {target: {}, patch: 'spec: {}'}\n",
     "spec.patches[0].target: expected at least one of group, version, kind"),
    ("patches:\n- {target: {name: 'ml-(pipeline'}, patch: 'spec: {}'}\n",
     "spec.patches[0].target.name: expected a name or a regular expression"),
    ("patches:\n- {target: {kind: Deployment}, patch: 'spec: {}', "
     "options: {allowNameChange: true}}\n",
     "spec.patches[0]: options (allowNameChange, allowKindChange) are not supported"),
    ("patches:\n- {target: {kind: Deployment, nmae: x}, patch: 'spec: {}'}\n",
     'spec.patches[0].target.nmae: unknown key "nmae" (did you mean "name"?)'),
    ("extraManifests: [ftp://example.com/x.yaml]\n",
     "spec.extraManifests[0]: expected an https:// URL or a local path"),
])
def test_patches_and_extra_manifests_are_checked_where_written(block: str,
                                                               expected: str) -> None:
    [problem] = problems(HEAD + spec(block))
    assert expected in problem
