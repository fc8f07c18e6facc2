"""Hostile and malformed platform files: one test per row of issue 18's table.

Each is refused with exit code 2, the file's line and YAML path and what is
allowed, without a traceback and without writing anything; the bounded ones are
refused before their cost is paid (tracemalloc's peak stays far below 200 MB).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import textwrap
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from kfops.cli import main
from kfops.config import (
    MAX_DEPTH,
    MAX_NODES,
    PLATFORM_FILE_LIMIT,
    FileRefused,
    load_platform,
    parse_platform,
    read_limited,
)
from kfops.errors import ConfigError
from kfops.objects import identity_of
from kfops.operations import render_platform
from kfops.render import RenderOptions

HEAD = "apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n  target: local\n"
ONPREM = HEAD.replace("local", "onprem") + textwrap.indent(textwrap.dedent("""\
    ingress: {host: kf.example.com}
    auth:
      users:
      - email: alice@example.com
        passwordHash: "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFr4LCP9UeYRf09v1pKzIxe"
    """), "  ")
LIMIT_BYTES = 200 * 1024 * 1024


def validate(folder: Path, text: str, capsys: pytest.CaptureFixture[str],
             *flags: str) -> tuple[int, str]:
    """`kfops validate -f folder/platform.yaml`: (exit code, stderr); checks nothing is written."""
    path = folder / "platform.yaml"
    path.write_text(text)
    before = sorted(folder.rglob("*"))
    tracemalloc.start()
    try:
        code = main(["validate", "-f", str(path), *flags])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert peak < LIMIT_BYTES
    assert sorted(folder.rglob("*")) == before, "validate wrote into the platform's folder"
    return code, " ".join(err.split())


def refused(folder: Path, text: str, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    code, err = validate(folder, text, capsys, *flags)
    assert code == 2, err
    return err


# Row: YAML alias bombs ("billion laughs", also inside ingress.annotations).

def laughs(levels: int = 9) -> str:
    lines = ['  x0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = HEAD + "  ingress:\n    annotations:\n" + textwrap.indent(laughs(), "  ")
    err = refused(tmp_path, text, capsys)
    assert f"more than {MAX_NODES:,} values (aliases count as every value they repeat)" in err
    assert "platform.yaml:12:" in err  # the first line past the budget


def test_aliases_within_the_budget_are_read(tmp_path: Path) -> None:
    text = HEAD + "  ingress:\n    annotations: &notes {example.com/a: one}\n" \
        "  profiles:\n  - {name: a, owner: a@example.com}\n"
    loaded = parse_platform(text, tmp_path / "platform.yaml")
    assert loaded.platform.spec.ingress.annotations == {"example.com/a": "one"}


# Row: nesting 1,000-10,000 deep (flow or block).

@pytest.mark.parametrize(("style", "depth"), [
    ("flow", 100), ("flow", 1_000), ("flow", 10_000), ("block", 100), ("block", 1_000)])
def test_deep_nesting_is_refused_with_a_line(
    depth: int, style: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if style == "flow":
        nested = "  patches: " + "[" * depth + "]" * depth + "\n"
    else:  # one more space per level: 1,000 levels are 0.5 MB (10,000 would pass the size limit)
        nested = "".join(f"{' ' * (i + 2)}k:\n" for i in range(depth)) + " " * (depth + 2) + "x\n"
    err = refused(tmp_path, HEAD + nested, capsys)
    assert "nest" in err
    assert "platform.yaml:" in err


def test_the_depth_limit_is_far_above_what_the_model_needs(tmp_path: Path) -> None:
    config = "".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_DEPTH - 10)) + "  " * 50 + "x: 1\n"
    text = HEAD + "  ingress: {host: kf.example.com}\n  auth:\n    connectors:\n" \
        "    - type: ldap\n      id: corp\n      name: Corp\n      config:\n" \
        "        host: ldap.example.com:636\n        userSearch: {}\n        deep:\n" \
        + textwrap.indent(config, " " * 10)
    parse_platform(text, tmp_path / "platform.yaml")


# Row: a !!python/object tag, a merge key << into spec.

@pytest.mark.parametrize("value", ["!!python/object:os.system x",
                                   "!!python/object/apply:os.system ['touch X']",
                                   "!local x", "!!binary aGVsbG8=", "!!timestamp 2024-01-01"])
def test_tags_other_than_the_core_ones_are_refused(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(tmp_path, HEAD + f"  release:\n    source: {value}\n", capsys)
    assert "platform.yaml:6" in err
    assert "is not allowed: a platform file holds plain strings" in err
    assert not (tmp_path / "X").exists()


def test_core_tags_keep_their_meaning(tmp_path: Path) -> None:
    text = HEAD + '  kubernetesVersion: !!str 1.33\n  gpu: {timeSlicing: {replicas: !!int "4"}}\n'
    spec = parse_platform(text, tmp_path / "platform.yaml").platform.spec
    assert (spec.kubernetes_version, spec.gpu.time_slicing.replicas) == ("1.33", 4)


def test_a_merge_key_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ("base: &base {target: local, components: {katib: false}}\n"
            "apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n  <<: *base\n")
    err = refused(tmp_path, text, capsys)
    assert "platform.yaml:5: merge keys (<<) are not read" in err


# Row: {file: /dev/zero} for a secret; gpu.source / metallb.source at /dev/zero, also through
# `..` or a symbolic link.

def with_connector(secret: str) -> str:
    return ONPREM.replace(
        "  auth:\n", "  auth:\n    connectors:\n    - {type: github, id: gh, name: GitHub, "
        f"clientID: abc, clientSecret: {secret}}}\n", 1)


@pytest.mark.parametrize("where", ["/dev/zero", "../../../../../../../../dev/zero", "link"])
def test_device_files_are_never_read(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "link").symlink_to("/dev/zero")
    for text in (
        with_connector(f"{{file: {where}}}"),
        ONPREM + f"  metallb:\n    addresses: [10.0.0.10/32]\n    source: {where}\n",
        HEAD + f"  gpu: {{enabled: true, install: devicePlugin, source: {where}}}\n",
    ):
        err = refused(tmp_path, text, capsys)
        assert "is under /dev (/dev/zero); kfops reads only regular files and folders" in err


def test_non_regular_files_inside_the_folder_are_refused_before_a_byte_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(tmp_path / "pipe")  # opening it to read would wait forever
    err = refused(tmp_path, with_connector("{file: pipe}"), capsys)
    assert "pipe" in err
    assert "is a FIFO, not a regular file" in err
    with pytest.raises(FileRefused, match="is a FIFO"):
        read_limited(tmp_path / "pipe", 10)


def test_files_above_their_limit_are_refused(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "big-secret").write_bytes(b"x" * (1 << 20 | 1))
    err = refused(tmp_path, with_connector("{file: big-secret}"), capsys)
    assert "big-secret is larger than 1 MiB, the most a Kubernetes Secret holds" in err
    (tmp_path / "platform.yaml").write_text(HEAD + "#" * PLATFORM_FILE_LIMIT)
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        load_platform(tmp_path / "platform.yaml")


# Row: clientSecret {file: /etc/shadow}, {file: ../../etc/shadow}, {file: /proc/self/environ},
# {env: PATH}.

@pytest.mark.parametrize("where", ["/etc/shadow", "../../../../../../../../etc/shadow",
                                   "/etc/hostname"])
def test_files_outside_the_platform_folder_are_refused(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(tmp_path, with_connector(f"{{file: {where}}}"), capsys)
    assert "platform.yaml:8 spec.auth.connectors[0].clientSecret:" in err
    assert "is outside the platform file's folder; list the folder that holds it in " \
        "spec.allowedPaths or KFOPS_ALLOWED_PATHS, or pass --allow-paths-outside" in err


def test_proc_is_refused_even_when_paths_outside_are_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(tmp_path, with_connector("{file: /proc/self/environ}"), capsys,
                  "--allow-paths-outside")
    assert "/proc/self/environ is under /proc" in err


def test_a_folder_outside_may_be_allowed_by_the_file_the_flag_or_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "github").write_text("from-github\n")
    folder = tmp_path / "platform"
    folder.mkdir()
    text = with_connector("{file: ../secrets/github}")
    refused(folder, text, capsys)
    allowed = text.replace("  target: onprem\n", "  target: onprem\n  allowedPaths: [../secrets]\n")
    loaded = parse_platform(allowed, folder / "platform.yaml")
    assert loaded.read_file("../secrets/github", 100) == b"from-github\n"
    parse_platform(text, folder / "platform.yaml", allow_outside=True)
    monkeypatch.setenv("KFOPS_ALLOWED_PATHS", str(secrets))
    parse_platform(text, folder / "platform.yaml")


@pytest.mark.parametrize("allowance", ["/", "~", "..", "/dev"])
def test_an_allowance_cannot_open_the_whole_machine(
    allowance: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = tmp_path / "platform"
    folder.mkdir()
    text = HEAD + f"  allowedPaths: [{allowance!r}]\n"
    with pytest.raises(ConfigError) as caught:
        parse_platform(text, folder / "platform.yaml")
    [problem] = caught.value.problems
    assert problem.path == "spec.allowedPaths[0]"


def test_env_names_that_do_not_look_like_a_secret_warn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "s")
    quiet = parse_platform(with_connector("{env: GITHUB_CLIENT_SECRET}"),
                           tmp_path / "platform.yaml")
    assert quiet.warnings == ()
    loud = parse_platform(with_connector("{env: PATH}"), tmp_path / "platform.yaml")
    [warning] = loud.warnings
    assert warning.startswith("platform.yaml:8 spec.auth.connectors[0].clientSecret: "
                              "{env: PATH} does not look like a secret's variable")


def test_generate_only_where_a_value_can_be_generated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_platform(with_connector("{generate: true}"), tmp_path / "platform.yaml")
    assert "kfops cannot generate it; use {env: NAME} or {file: path}" in str(caught.value)
    dns01 = HEAD + textwrap.indent(textwrap.dedent("""\
        ingress: {host: kf.example.com}
        tls:
          mode: acme
          acme:
            email: ops@example.com
            solver: dns01
            dns01: {cloudflare: {apiTokenSecretRef: {generate: true}}}
        """), "  ")
    with pytest.raises(ConfigError) as caught:
        parse_platform(dns01, tmp_path / "platform.yaml")
    [problem] = caught.value.problems
    assert problem.path == "spec.tls.acme.dns01.cloudflare.apiTokenSecretRef"
    assert problem.message.startswith("{generate} cannot make this value")
    with pytest.raises(ConfigError) as caught:
        parse_platform(dns01.replace("{generate: true}", "{env: 'not a name'}"),
                       tmp_path / "platform.yaml")
    [problem] = caught.value.problems
    assert problem.message == "expected an environment variable name such as GITHUB_SECRET"


# Row: azure.location / azure.clusterName holding $(...) or `; rm ...` (the generated scripts
# are run in tests/targets/test_script_injection.py).

AKS = HEAD.replace("local", "aks") + "  azure: {subscriptionId: 00000000-0000-0000-0000-00000000" \
    "0000, resourceGroup: kubeflow, clusterName: kubeflowcl, location: japaneast}\n"


@pytest.mark.parametrize("field", ["location", "clusterName", "resourceGroup"])
@pytest.mark.parametrize("value", ["$(touch X)", "x; rm -rf ~", "`id`", "a'b", "x\\ny"])
def test_azure_names_follow_azure_rules(field: str, value: str, tmp_path: Path) -> None:
    original = {"location": "japaneast", "clusterName": "kubeflowcl",
                "resourceGroup": "kubeflow"}[field]
    text = AKS.replace(f"{field}: {original}", f'{field}: "{value}"')
    with pytest.raises(ConfigError) as caught:
        parse_platform(text, tmp_path / "platform.yaml", check_references=False)
    [problem] = caught.value.problems
    assert problem.path == f"spec.azure.{field}"
    assert problem.message.startswith(("expected an Azure", "expected an AKS"))


# Row: a Dex username with a newline; a bcrypt hash of cost 4.

def user(**fields: str) -> str:
    entry = {"email": "alice@example.com",
             "passwordHash": "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFr4LCP9UeYRf09v1pKzIxe",
             **fields}
    inline = ", ".join(f"{k}: {v!r}" if k == "passwordHash" else f'{k}: "{v}"'
                       for k, v in entry.items())
    return HEAD + f"  auth:\n    users:\n    - {{{inline}}}\n"


@pytest.mark.parametrize("fields", [
    {"username": "alice\\nmallory"}, {"username": "alice\\u0000"},
    {"email": "alice\\r@example.com"}, {"email": "al\\u0085ice@example.com"},
])
def test_dex_names_without_control_characters(fields: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_platform(user(**fields), tmp_path / "platform.yaml")
    [problem] = caught.value.problems
    assert problem.path == f"spec.auth.users[0].{next(iter(fields))}"


def test_bcrypt_cost_below_10_is_refused_without_echoing_the_hash(tmp_path: Path) -> None:
    cheap = "$2b$04$abcdefghijklmnopqrstuu9wrd3yX8X1LycCTtZ0ak1yrPW4/e4Gu"
    with pytest.raises(ConfigError) as caught:
        parse_platform(user(passwordHash=cheap), tmp_path / "platform.yaml")
    [problem] = caught.value.problems
    assert problem.message.startswith("a bcrypt hash of cost 4: use a cost of 10 to 31")
    assert cheap not in str(caught.value)


# Row: MetalLB everything / loopback; NFS server empty or junk; an invalid ACME email,
# IngressClass or Secret name; quota cpu -1, "-16", an empty or invalid resource name.

def lb(addresses: str) -> str:
    return ONPREM + f"  metallb:\n    addresses: [{addresses}]\n"


@pytest.mark.parametrize(("text", "path", "start"), [
    (lb("0.0.0.0/0"), "spec.metallb.addresses[0]", "the range overlaps 0.0.0.0/8"),
    (lb('"::/0"'), "spec.metallb.addresses[0]", "the range overlaps ::/128"),
    (lb("127.0.0.1-127.0.0.9"), "spec.metallb.addresses[0]",
     "the range overlaps 127.0.0.0/8"),
    (lb("169.254.0.0/24"), "spec.metallb.addresses[0]", "the range overlaps"),
    (lb('"fe80::1-fe80::9"'), "spec.metallb.addresses[0]", "the range overlaps"),
    (HEAD + '  storage: {nfs: {server: "", path: /srv}}\n', "spec.storage.nfs.server",
     "expected a lower-case DNS name"),
    (HEAD + '  storage: {nfs: {server: "nfs;rm -rf /", path: /srv}}\n',
     "spec.storage.nfs.server", "expected a lower-case DNS name"),
    (HEAD + '  ingress: {host: kf.example.com}\n  tls: {mode: acme, acme: {email: "not mail"}}\n',
     "spec.tls.acme.email", "expected an e-mail address"),
    (HEAD + '  ingress: {host: kf.example.com, ingressClass: "Nginx Class"}\n',
     "spec.ingress.ingressClass", "expected a Kubernetes object name"),
    (HEAD + '  tls: {secretName: "../kubeflow-tls"}\n', "spec.tls.secretName",
     "expected a Kubernetes object name"),
    (HEAD + '  storage: {defaultStorageClass: "Fast SSD"}\n', "spec.storage.defaultStorageClass",
     "expected a Kubernetes object name"),
    (HEAD + "  profiles: [{name: a, owner: a@example.com, quota: {cpu: -1}}]\n",
     "spec.profiles[0].quota.cpu", "expected a non-negative Kubernetes quantity"),
    (HEAD + '  profiles: [{name: a, owner: a@example.com, quota: {cpu: "-16"}}]\n',
     "spec.profiles[0].quota.cpu", "expected a non-negative Kubernetes quantity"),
    (HEAD + '  profiles: [{name: a, owner: a@example.com, quota: {"": "1"}}]\n',
     'spec.profiles[0].quota[""]', "invalid key: expected a ResourceQuota resource"),
    (HEAD + '  profiles: [{name: a, owner: a@example.com, quota: {gpus: "1"}}]\n',
     "spec.profiles[0].quota.gpus", "invalid key: expected a ResourceQuota resource"),
    (HEAD + '  profiles: [{name: a, owner: a@example.com, quota: {"nvidia.com/g pu": "1"}}]\n',
     'spec.profiles[0].quota["nvidia.com/g pu"]',
     "invalid key: expected a Kubernetes qualified name"),
    (HEAD + '  profiles: [{name: a, owner: a@example.com, quota: {pods: 500m}}]\n',
     "spec.profiles[0]", "quota.pods counts objects: expected a whole number, got 500m"),
    (HEAD + '  gpu: {taint: {key: "nvidia.com/gpu", value: "true,driver.enabled=false"}}\n',
     "spec.gpu.taint.value", "expected a Kubernetes label value"),
])
def test_values_the_cluster_would_refuse(text: str, path: str, start: str,
                                         tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_platform(text, tmp_path / "platform.yaml")
    problems = [p for p in caught.value.problems if p.path == path]
    assert problems, caught.value
    assert problems[0].message.startswith(start), problems[0].message
    assert problems[0].line is not None


def test_what_the_cluster_accepts_still_passes(tmp_path: Path) -> None:
    text = lb("192.168.1.240-192.168.1.250") + textwrap.indent(textwrap.dedent("""\
        storage: {nfs: {server: nfs.example.com, path: /srv}, defaultStorageClass: nfs-client}
        tls: {mode: acme, secretName: kubeflow-tls, acme: {email: ops@example.com}}
        profiles:
        - name: a
          owner: a@example.com
          quota: {cpu: "16", memory: 64Gi, nvidia.com/gpu: "2", pods: "100",
                  requests.storage: 1Ti, count/jobs.batch: "10", hugepages-2Mi: 1Gi}
        """), "  ")
    parse_platform(text.replace("  ingress: {host: kf.example.com}\n",
                                "  ingress: {host: kf.example.com, ingressClass: nginx}\n"),
                   tmp_path / "platform.yaml")


# Row: a 2 MB annotation, 20,000 annotations (the API server takes 256 KiB in all).

def test_a_2_mb_annotation_is_refused(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    text = HEAD + f"  ingress:\n    annotations: {{example.com/big: {'x' * 2_000_000}}}\n"
    err = refused(tmp_path, text, capsys)
    assert "platform.yaml is larger than 1 MiB, the most kfops reads from such a file" in err
    text = HEAD + f"  ingress:\n    annotations: {{example.com/big: {'x' * 300_000}}}\n"
    err = refused(tmp_path, text, capsys)
    assert "platform.yaml:6 spec.ingress.annotations: annotations of 300015 bytes in all: " \
        "the API server takes at most 256 KiB (262144 bytes) per object" in err


def test_twenty_thousand_annotations_are_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    notes = "".join(f"      example.com/note-{i:05d}: value\n" for i in range(20_000))
    err = refused(tmp_path, HEAD + "  ingress:\n    annotations:\n" + notes, capsys)
    assert "spec.ingress.annotations: annotations of 540000 bytes in all" in err


# Row: `validate` with any input writes .kfops/ (a good file: tests/cli/test_cli.py).

def test_validate_of_a_bad_file_writes_nothing(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    refused(tmp_path, HEAD + "  components: {katib: maybe}\n", capsys)
    assert not (tmp_path / ".kfops").exists()
    assert not (tmp_path / "bundle").exists()


def test_validate_of_a_good_file_writes_nothing_and_reads_an_existing_state(
    platform_file: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = platform_file("26.03", spec_extra=(
        "  ingress: {host: kf.example.com}\n  auth:\n    connectors:\n"
        "    - {type: github, id: gh, name: GitHub, clientID: abc, clientSecret: {env: PATH}}\n"))
    folder = path.parent
    code = main(["validate", "-f", str(path), "--offline", "-o", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "{env: PATH} does not look like a secret's variable" in captured.out
    assert sorted(p.name for p in folder.iterdir()) == ["platform.yaml"]

    assert main(["render", "-f", str(path), "--offline", "-o", "json"]) == 0
    state = folder / ".kfops" / "secrets.json"
    kept = state.read_bytes()
    shutil.rmtree(folder / "bundle")
    assert main(["validate", "-f", str(path), "--offline", "-o", "json"]) == 0
    assert state.read_bytes() == kept
    assert sorted(p.name for p in folder.iterdir()) == [".kfops", "platform.yaml"]
    # What validate checked used the kept values, not new ones.
    result = render_platform(load_platform(path), RenderOptions(offline=True, write_state=False))
    values = json.loads(kept)
    assert result.bundle.generated
    for generated in result.bundle.generated:
        secret = next(o.obj for o in result.bundle.objects
                      if identity_of(o.obj) == generated.secret)
        written = secret.get("stringData", {}).get(generated.key) or base64.b64decode(
            secret["data"][generated.key]).decode()
        assert written == values[generated.state_name]
