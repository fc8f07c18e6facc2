"""Objects written from a fresh read, with the version read as a precondition.

Most objects are simply applied. A few hold what someone else may write
while an apply runs: a generated secret another install may have created
first, Dex's users that `kfops user add --live` changes. For those the engine
reads the live object just before writing, lets a guard decide what to write
from it, and writes with that resourceVersion: if the object changed in
between, the API server answers 409 and the engine reads and decides again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kfops.errors import ObjectConflict
from kfops.objects import describe, identity_of, secret_value

from ._api import Cluster
from ._compare import needs_apply

_ATTEMPTS = 20

Fresh = Callable[[dict[str, Any], dict[str, Any] | None], dict[str, Any]]
"""The object to write, from the rendered one and the live one just read; may raise."""


@dataclass(frozen=True)
class Guard:
    """How one object is written when what the cluster holds now matters."""

    fresh: Fresh
    create_only: bool = False
    """Create it with POST, so it never merges into an object someone else created first."""


class GeneratedValueHeld(ObjectConflict):
    """The cluster holds another value for a generated secret: adopt it and render again."""


def keep_values(keys: frozenset[str]) -> Guard:
    """A Secret whose `keys` hold generated values: created once, never overwritten.

    A first install creates it (POST). When it exists with other values (a
    second install raced this one, or its state directory was lost), writing
    stops with GeneratedValueHeld, so the caller adopts the cluster's values.
    """

    def fresh(rendered: dict[str, Any], live: dict[str, Any] | None) -> dict[str, Any]:
        for key in sorted(keys):
            held = secret_value(live, key) if live is not None else None
            if held is not None and held != secret_value(rendered, key):
                raise GeneratedValueHeld(f"{describe(rendered)}: the cluster holds another "
                                         f"value of {key}, created by another install")
        return rendered

    return Guard(fresh, create_only=True)


def write_guarded(cluster: Cluster, obj: dict[str, Any], guard: Guard) -> str:
    """Write `obj` as `guard` decides from a fresh read; `created`, `updated` or `unchanged`."""
    metadata = obj["metadata"]
    for _ in range(_ATTEMPTS):
        live = cluster.get(str(obj["apiVersion"]), str(obj["kind"]), metadata["name"],
                           metadata.get("namespace"))
        desired = guard.fresh(obj, live)
        if live is not None and not needs_apply(desired, live):
            return "unchanged"
        try:
            if live is None and guard.create_only:
                cluster.create(desired)
            elif live is None:
                cluster.apply(desired)
            else:
                cluster.apply(_at_version(desired, live))
        except ObjectConflict:
            continue  # changed (or created) since the read: read and decide again
        return "created" if live is None else "updated"
    _, kind, namespace, name = identity_of(obj)
    raise ObjectConflict(f"{describe(obj)} kept changing while kfops wrote it ({_ATTEMPTS} "
                         "attempts); run apply again", kind=kind, namespace=namespace or None,
                         name=name)


def _at_version(obj: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """`obj` with the live resourceVersion: the write fails (409) if it changed meanwhile."""
    metadata = {**obj["metadata"], "resourceVersion": live["metadata"]["resourceVersion"]}
    return {**obj, "metadata": metadata}
