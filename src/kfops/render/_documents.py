"""Split kustomize's YAML stream into objects, keeping each object's own text.

kustomize's output is trusted and parsed as fast as possible. Manifests kfops
did not produce (`source` files, `--crds`, a bundle given to `validate
--bundle` or `apply --bundle`) are parsed by :func:`load_documents` and
`split_documents(..., origin=...)` within bounds: at most
:data:`MAX_MANIFEST_NODES` nodes per document, aliases counted as every node
they repeat (so an alias bomb is refused without being expanded), no merge
keys, only standard tags (PyYAML's safe loader never constructs others), and
libyaml's limit of 1,000 levels of nesting. Their size is bounded where they
are read (:data:`kfops.config.MANIFEST_FILE_LIMIT`). Errors are InputError
naming the file and line, never quoting its content.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from kfops.errors import InputError

#: The most nodes one document of an untrusted manifest may expand to (the largest upstream
#: document, Argo's Workflow CRD, has about 100,000).
MAX_MANIFEST_NODES = 1_000_000


class _Loader(yaml.CSafeLoader):
    """PyYAML's C loader without timestamp resolution.

    Kubernetes objects carry dates as strings; turning them into `date`
    objects would change them and break the JSON build cache.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}

class _BoundedLoader(_Loader):
    """The same loader, noting reused (aliased) nodes and refusing merge keys."""

    shared = False

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            self.shared = True
        return super().construct_object(node, deep)

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        for key, _ in node.value:
            if key.tag == "tag:yaml.org,2002:merge":
                raise yaml.constructor.ConstructorError(
                    None, None, "merge keys (<<) are not read", key.start_mark)
        super().flatten_mapping(node)


_SEPARATOR = re.compile(r"^---[ \t]*\n", re.MULTILINE)


def split_documents(stream: str, origin: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(text, object) for every non-empty document of a YAML stream, in order.

    A document separator at the start of a line cannot occur inside kustomize's
    output of an object (block scalars there are always indented), so splitting
    the text keeps each object's exact bytes for the bundle. With `origin` (a
    file kfops did not write) the stream is parsed within bounds.
    """
    documents: list[tuple[str, dict[str, Any]]] = []
    line = 0
    for chunk in _SEPARATOR.split(stream):
        if chunk.strip():
            parsed = (yaml.load(chunk, Loader=_Loader) if origin is None
                      else _bounded(chunk, origin, line)[0])
            if isinstance(parsed, dict):
                documents.append((chunk if chunk.endswith("\n") else chunk + "\n", parsed))
        line += chunk.count("\n") + 1
    return documents


def load_documents(text: str, origin: str = "a manifest") -> list[dict[str, Any]]:
    """Every mapping document of an untrusted YAML stream (`origin` names it in errors)."""
    return [d for d in _bounded(text, origin, 0) if isinstance(d, dict)]


def load_any(text: str, origin: str, first_line: int = 0) -> list[Any]:
    """Every document of an untrusted YAML stream, whatever it holds (a patch may be a list).

    `first_line`: the line of the file the text starts after, so errors name the
    file's own line (text embedded in the platform file).
    """
    return _bounded(text, origin, first_line)


def _bounded(text: str, origin: str, first_line: int) -> list[Any]:
    loader = _BoundedLoader(text)
    documents = []
    try:
        while loader.check_data():  # type: ignore[no-untyped-call]
            loader.shared = False
            document = loader.get_data()
            if loader.shared and expanded_size(document) > MAX_MANIFEST_NODES:
                raise InputError(
                    f"{origin}: a document repeats more than {MAX_MANIFEST_NODES:,} values "
                    "through aliases (a YAML alias bomb?)")
            documents.append(document)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{origin}:{first_line + mark.line + 1}" if mark is not None else origin
        problem = " ".join(p for p in (error.context, error.problem) if p)
        # no cause: yaml's quotes the text (a Secret's values)
        raise InputError(f"{where}: YAML: {problem}") from None
    except yaml.YAMLError as error:
        # no cause: yaml's quotes the text
        raise InputError(f"{origin}: YAML: {type(error).__name__}") from None
    except RecursionError:
        raise InputError(f"{origin}: YAML nested too deeply") from None  # adds nothing
    finally:
        loader.dispose()
    return documents


def expanded_size(root: Any) -> int:
    """How many nodes `root` has when every shared mapping or list is counted each time.

    Shared objects are sized once (memo by identity), so a billion-node alias
    bomb is measured without being walked; a cycle counts as unbounded.
    """
    memo: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if not isinstance(node, dict | list) or (id(node) in memo and not children_done):
            continue
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        if children_done:
            memo[id(node)] = 1 + sum(memo.get(id(c), 1) for c in children)
            continue
        if id(node) in visiting:
            return MAX_MANIFEST_NODES + 1  # an alias inside its own anchor
        visiting.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if isinstance(c, dict | list))
    return memo.get(id(root), 1)


def dump_document(obj: dict[str, Any]) -> str:
    """One object as block-style YAML, for objects kfops changed after the build."""
    return yaml.dump(obj, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False,
                     width=1 << 16)
