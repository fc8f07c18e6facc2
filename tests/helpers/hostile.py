"""Hostile and malformed variants of the four `kfops init` starters (issue 18).

Used by the fuzz test (tests/config/test_fuzz.py, through hypothesis) and by
`python -m benchmarks.hostile`, which runs `kfops validate` and `kfops render`
on every variant and counts tracebacks, hangs, peak memory and files that are
accepted although they should not be.

A variant is the platform text (str, or bytes for encoding damage), the files
planted beside it (`{file}` targets, FIFOs, symbolic links), what a correct
kfops does with it (refuse with exit 2, warn, or accept) and the first step
that can tell (loading the file, or rendering it: a folder that is not a
release can only be told by looking inside).
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfops.targets import starter_text
from tests.helpers.presets import fill, offline

TARGETS = ("local", "onprem", "aks", "generic")
RELEASE = "26.03"
#: Environment variables the starters' `{env}` references name.
STARTER_ENV = {"GITHUB_CLIENT_SECRET": "from-github", "ENTRA_CLIENT_SECRET": "from-entra"}
#: Written by a shell payload if anything ever ran it.
MARKER = "KFOPS_FUZZ_MARKER"

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Variant:
    """One hostile or malformed platform file."""

    name: str
    target: str
    text: str | bytes
    expect: str = "refuse"
    """refuse (exit 2), warn (accepted with a warning) or accept."""
    stage: str = "load"
    """load or render: the first step that refuses (or warns about) it."""
    plant: tuple[tuple[str, str], ...] = ()
    """Files beside the platform file: (name, what): `fifo`, `dir`, `big`, `link:<target>`,
    `text:<content>`."""

    @property
    def bad(self) -> bool:
        """Whether kfops must refuse it or warn about it."""
        return self.expect != "accept"


def starter(target: str) -> str:
    """The filled starter of `target`, pointed at the upstream snapshot."""
    return offline(fill(starter_text(target)), RELEASE)


def starter_data(target: str) -> dict[str, Any]:
    """The filled starter as data (it is trusted: kfops's own file)."""
    data = yaml.safe_load(starter(target))
    assert isinstance(data, dict)
    return data


def dump(data: dict[str, Any]) -> str:
    """Data as YAML a platform file may hold (JSON strings are valid YAML scalars)."""
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True,
                     width=1 << 16)


def set_in(data: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    """A copy of `data` with `value` at `path` (missing mappings and lists are created)."""
    result = copy.deepcopy(data)
    node: Any = result
    for key, following in itertools.pairwise(path):
        if isinstance(node, list):
            assert isinstance(key, int)
            while len(node) <= key:
                node.append({})
        elif not isinstance(node.get(key), dict | list):
            node[key] = [] if isinstance(following, int) else {}
        node = node[key]
    if isinstance(node, list):
        assert isinstance(path[-1], int)
        while len(node) <= path[-1]:
            node.append(None)
    node[path[-1]] = value
    return result


# --- values ------------------------------------------------------------------------------

SHELL = [f"$(touch {MARKER})", f"`touch {MARKER}`", f"x; touch {MARKER}", f"x\ntouch {MARKER}",
         f"x' ; touch {MARKER} ; '", f'x" ; touch {MARKER} ; "']
JUNK = ["", " ", "a" * 300, "Ünïcødé", "x\x00y", "x\x1b[31my", "-" * 5, "..", "a/b", "*"]
STRING_FIELDS: list[tuple[Path_, str | None]] = [
    (("metadata", "name"), None),
    (("spec", "ingress", "host"), None),
    (("spec", "ingress", "ingressClass"), None),
    (("spec", "tls", "secretName"), None),
    (("spec", "storage", "defaultStorageClass"), None),
    (("spec", "storage", "nfs", "server"), "onprem"),
    (("spec", "tls", "acme", "email"), "onprem"),
    (("spec", "azure", "location"), "aks"),
    (("spec", "azure", "clusterName"), "aks"),
    (("spec", "azure", "resourceGroup"), "aks"),
    (("spec", "azure", "subscriptionId"), "aks"),
    (("spec", "gpu", "operatorVersion"), None),
    (("spec", "gpu", "taint", "key"), None),
    (("spec", "gpu", "taint", "value"), None),
    (("spec", "release", "version"), None),
    (("spec", "kubernetesVersion"), None),
    (("spec", "airgap", "registry"), None),
]
USER_FIELDS = {"username": ["alice\nmallory", "a\x00", "x\u2028y"],
               "email": ["alice\n@example.com", "not-an-email", "a@b", "\x07@example.com"],
               "passwordHash": ["$2b$04$abcdefghijklmnopqrstuu9wrd3yX8X1LycCTtZ0ak1yrPW4/e4Gu",
                                "$2y$12$short", "hunter2"]}
GOOD_HASH = "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFr4LCP9UeYRf09v1pKzIxe"
ADDRESSES = ["0.0.0.0/0", "::/0", "127.0.0.1/32", "127.0.0.1-127.0.0.9", "169.254.1.0/24",
             "fe80::/64", "224.0.0.1/32", "255.255.255.255/32", "10.0.0.9-10.0.0.1", "junk"]
QUOTAS: list[dict[str, Any]] = [
    {"cpu": -1}, {"cpu": "-16"}, {"": "1"}, {"gpus": "1"}, {"nvidia.com/g pu": "1"},
    {"memory": "64Gb"}, {"pods": "1500m"}, {"cpu": True}, {"cpu": 1.5}, {"cpu": "1e400000"},
]
NUMBERS: list[tuple[Path_, Any]] = [
    (("spec", "gpu", "timeSlicing", "replicas"), -1),
    (("spec", "gpu", "timeSlicing", "replicas"), 10**30),
    (("spec", "gpu", "timeSlicing", "replicas"), "4"),
    (("spec", "gpu", "timeSlicing", "replicas"), 1.5),
    (("spec", "components", "katib"), "yes"),
    (("spec", "components", "pipelines"), [1, 2]),
    (("spec", "ingress", "serviceType"), "Loadbalancer"),
    (("spec", "tls", "mode"), "plaintext"),
]
#: Where `{file}` and `source` values may point a reader; planted beside the platform file.
PATHS = ["/dev/zero", "/dev/urandom", "/dev/stdin", "/proc/self/environ", "/proc/self/mem",
         "/sys/kernel/notes", "/etc/shadow", "/etc/passwd", "../../../../../../etc/passwd",
         "../../../../../../dev/zero", "link-zero", "link-passwd", "fifo", "folder", "big",
         "missing", "./", "~/.ssh/id_rsa", "loop"]
PLANTS = (("link-zero", "link:/dev/zero"), ("link-passwd", "link:/etc/passwd"), ("fifo", "fifo"),
          ("folder", "dir"), ("big", "big"), ("loop", "link:loop"))


# --- YAML-level damage --------------------------------------------------------------------

def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Billion laughs as YAML lines at the indentation of a mapping's entries (2 spaces)."""
    lines = [f"  l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def deep_flow(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_block(depth: int) -> str:
    return "".join(f"{' ' * (i + 4)}k:\n" for i in range(depth)) + " " * (depth + 4) + "x\n"


def yaml_damage(text: str) -> Iterator[tuple[str, str | bytes, bool]]:
    """(name, new text, bad) for damage of the YAML itself."""
    spec_line = "spec:\n"
    yield "alias bomb, top level", text + "bomb:\n" + alias_bomb(), True
    yield "alias bomb in annotations", text.replace(
        spec_line, spec_line + "  ingress:\n    annotations:\n" +
        alias_bomb().replace("  l", "      example.com/l"), 1), True
    yield "alias bomb in a profile's quota", text + "  profiles:\n  - name: a\n    owner: " \
        "a@example.com\n    quota:\n" + alias_bomb(8, 12).replace("  l", "      l"), True
    yield "alias bomb, wide", text + "bomb:\n" + alias_bomb(5, 100), True
    yield "recursive alias", text + "loop: &loop [*loop]\n", True
    yield "undefined alias", text + "x: *nowhere\n", True
    for depth in (100, 1000, 5000, 10000):
        yield f"flow nesting {depth}", text + f"nest: {deep_flow(depth)}\n", True
    for depth in (100, 1000):
        yield f"block nesting {depth}", text + "nest:\n" + deep_block(depth), True
    for tag in ("!!python/object:os.system", "!!python/object/apply:os.system",
                "!!python/name:os.system", "!!binary", "!!set", "!local", "!!omap",
                "!<tag:example.com,2000:x>"):
        yield f"tag {tag}", text.replace('version: "26.03"', f'version: {tag} "26.03"', 1), True
    yield "merge key into spec", "base: &base {target: local}\n" + text.replace(
        spec_line, spec_line + "  <<: *base\n", 1).replace("  target:", "  #target:", 1), True
    yield "duplicate key", text.replace(spec_line, spec_line + "  target: local\n", 1), True
    yield "second document", text + "---\napiVersion: v1\nkind: Secret\n", True
    yield "YAML 1.1 directive", "%YAML 1.1\n---\n" + text, True
    yield "a list, not a mapping", "- " + text.replace("\n", "\n  "), True
    yield "scalar document", "just words", True
    yield "empty file", "", True
    yield "truncated in a flow", text + "x: [1, 2, {a: ", True
    yield "tab indentation", text.replace("  target:", "\ttarget:", 1), True
    yield "invalid UTF-8", text.encode() + b"\nx: \xff\xfe\n", True
    yield "NUL byte", text + "x: \x00\n", True
    yield "2 MB file", text + "pad: " + "x" * 2_000_000 + "\n", True
    yield "non-string key", text.replace(spec_line, spec_line + "  [a, b]: c\n", 1), True
    yield "anchors within the budget (valid)", text + "  profiles:\n" \
        "  - {name: a, owner: a@example.com, quota: &q {cpu: \"4\", memory: 8Gi}}\n" \
        "  - {name: b, owner: b@example.com, quota: *q}\n", False
    yield "core tag !!str (valid)", text.replace('version: "26.03"', 'version: !!str 26.03', 1), \
        False


# --- the catalogue ------------------------------------------------------------------------

def _with_connector(data: dict[str, Any], secret: Any) -> dict[str, Any]:
    data = set_in(data, ("spec", "ingress", "host"), "kubeflow.example.com")
    connectors = [{"type": "github", "id": "hostile", "name": "Hostile", "clientID": "abc",
                   "clientSecret": secret}]
    return set_in(data, ("spec", "auth", "connectors"),
                  [*data["spec"].get("auth", {}).get("connectors", []), *connectors])


#: Paths of PATHS that name a folder inside the platform file's folder.
_INSIDE_FOLDERS = ("folder", "./")
_FOLDER_FIELDS = ("source", "remoteCache", "crds")


def _source_variants(
    data: dict[str, Any], target: str,
) -> Iterator[tuple[str, dict[str, Any], str, str]]:
    """(name, data, expect, stage) with a path-taking field pointed at each of PATHS."""
    fields: list[tuple[Path_, dict[str, Any]]] = [
        (("spec", "gpu", "source"), set_in(data, ("spec", "gpu"),
                                           {"enabled": True, "install": "devicePlugin"})),
        (("spec", "release", "source"), data),
        (("spec", "release", "remoteCache"), data),
    ]
    if target == "onprem":
        fields += [(("spec", "metallb", "source"), data),
                   (("spec", "storage", "nfs", "source"), data)]
    if target == "aks":
        fields.append((("spec", "karpenter", "crds"), data))
    for index, where in enumerate(PATHS):
        path, base = fields[index % len(fields)]
        expect, stage = "refuse", "load"
        folder_field = path[-1] in _FOLDER_FIELDS and path[1] != "gpu" and path[1] != "metallb"
        if path[-1] == "remoteCache" and where in (*_INSIDE_FOLDERS, "missing"):
            expect = "accept"  # any folder inside may serve as the remote-base cache (or be made)
        elif folder_field and where in _INSIDE_FOLDERS:
            # A folder inside is allowed; whether it holds a release, the NFS files or CRDs
            # shows when they are read.
            stage = "render"
        yield f"{'.'.join(map(str, path))}: {where}", set_in(base, path, where), expect, stage


def catalogue(target: str) -> Iterator[Variant]:
    """Every hostile variant of one starter (about 110)."""
    text = starter(target)
    data = starter_data(target)
    plants = PLANTS
    for name, damaged, bad in yaml_damage(text):
        yield Variant(f"{target}: {name}", target, damaged, "refuse" if bad else "accept")
    for path, only in STRING_FIELDS:
        if only is not None and only != target:
            continue
        shell = SHELL if path[-1] in ("location", "clusterName") else SHELL[:3]
        for value in [*shell, *JUNK[:4]]:
            yield Variant(f"{target}: {'.'.join(map(str, path))} = {value!r}", target,
                          dump(set_in(data, path, value)), *_string_expect(path, value, target))
    for key, values in USER_FIELDS.items():
        for value in values:
            user = {"email": "alice@example.com", "passwordHash": GOOD_HASH, key: value}
            yield Variant(f"{target}: auth.users[0].{key} = {value!r}", target,
                          dump(set_in(data, ("spec", "auth", "users"), [user])))
    for where in PATHS:
        yield Variant(f"{target}: clientSecret {{file: {where}}}", target,
                      dump(_with_connector(data, {"file": where})), plant=plants)
    for name, expect in (("PATH", "warn"), ("HOME", "warn"), ("NOT_SET_ANYWHERE", "refuse")):
        yield Variant(f"{target}: clientSecret {{env: {name}}}", target,
                      dump(_with_connector(data, {"env": name})), expect)
    yield Variant(f"{target}: clientSecret {{generate: true}}", target,
                  dump(_with_connector(data, {"generate": True})))
    acme: dict[str, Any] = {"mode": "acme", "acme": {"email": "ops@example.com", "solver": "dns01"}}
    for name, token in (("env: 'bad name'", {"env": "bad name"}),
                        ("generate: true", {"generate": True}),
                        ("file: /etc/shadow", {"file": "/etc/shadow"})):
        tls = copy.deepcopy(acme)
        tls["acme"]["dns01"] = {"cloudflare": {"apiToken": token}}
        yield Variant(f"{target}: tls.acme.dns01 apiToken {{{name}}}", target, dump(set_in(
            set_in(data, ("spec", "ingress", "host"), "kubeflow.example.com"), ("spec", "tls"),
            tls)))
    for name, changed, expect, stage in _source_variants(data, target):
        yield Variant(f"{target}: {name}", target, dump(changed), expect, stage, plants)
    if target == "onprem":
        for address in ADDRESSES:
            yield Variant(f"{target}: metallb.addresses = {address}", target,
                          dump(set_in(data, ("spec", "metallb", "addresses"), [address])))
    for quota in QUOTAS:
        profile = {"name": "team-a", "owner": "alice@example.com", "quota": quota}
        yield Variant(f"{target}: profile quota {json.dumps(quota)}", target,
                      dump(set_in(data, ("spec", "profiles"), [profile])))
    for path, value in NUMBERS:
        yield Variant(f"{target}: {'.'.join(map(str, path))} = {value!r}", target,
                      dump(set_in(data, path, value)))
    yield Variant(f"{target}: one 2 MB annotation", target, dump(set_in(
        data, ("spec", "ingress", "annotations"), {"example.com/big": "x" * 2_000_000})))
    yield Variant(f"{target}: one 300 KB annotation", target, dump(set_in(
        data, ("spec", "ingress", "annotations"), {"example.com/big": "x" * 300_000})))
    yield Variant(f"{target}: 20,000 annotations", target, dump(set_in(
        data, ("spec", "ingress", "annotations"),
        {f"example.com/note-{i:05d}": "value" for i in range(20_000)})))
    yield Variant(f"{target}: allowedPaths [/]", target,
                  dump(set_in(data, ("spec", "allowedPaths"), ["/"])))


def _string_expect(path: Path_, value: str, target: str) -> tuple[str, str]:
    """(expect, stage) of a junk string in a field: Azure allows Unicode letters in group
    names; a taint's value may be empty, except in Karpenter's NodePools (aks: its CRD)."""
    if path[-1] == "resourceGroup" and value == "Ünïcødé":
        return "accept", "load"
    if path[-2:] == ("taint", "value") and value == "":
        return ("refuse", "render") if target == "aks" else ("accept", "load")
    return "refuse", "load"


@functools.cache
def variants() -> list[Variant]:
    """The whole catalogue for the four starters."""
    return [v for target in TARGETS for v in catalogue(target)]


def plant(folder: Path, variant: Variant) -> None:
    """Write the variant and the files it refers to into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, what in variant.plant:
        target = folder / name
        if what == "fifo":
            os.mkfifo(target)
        elif what == "dir":
            target.mkdir()
        elif what == "big":
            target.write_bytes(b"x" * (3 << 20))
        elif what.startswith("link:"):
            target.symlink_to(what.removeprefix("link:"))
        elif what.startswith("text:"):
            target.write_text(what.removeprefix("text:"))
    path = folder / "platform.yaml"
    if isinstance(variant.text, bytes):
        path.write_bytes(variant.text)
    else:
        path.write_text(variant.text, encoding="utf-8", errors="surrogatepass")

