"""What decoding into the API server's Go types does to a built-in object: quantities in
canonical form, and zero values of `omitempty` fields left out.

Custom resources are stored as the JSON they were sent (no Go types), so none of this
applies to them.

Quantities (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/)
are parsed and printed as k8s.io/apimachinery's resource.Quantity (v0.35) does: a string
already in canonical form is kept as sent (`100Mi`, `1e3`, even `+1k`), any other is
printed in canonical form (`2000m` as `2`, `1024Mi` as `1Gi`, `0.5` as `500m`, `1e4` as
`10e3`), every value rounded up to 1n. The core/v1 ResourceList fields are also rounded up
to 1m (`1u` as `1m`, `1.0001` as `1001m`), as their defaulting does. Simpler: only these
fields: `resources.limits` and `resources.requests` anywhere (containers, pods, PVCs,
volume claim templates), ResourceQuota `spec.hard`, LimitRange `spec.limits[]`, a
PersistentVolume's `spec.capacity` and a pod's `overhead` (ResourceLists), and an
emptyDir's `sizeLimit` (a Quantity); quantities beyond int64 are not capped.

Zero values: a Go field tagged `omitempty` that is not a pointer is left out when it holds
its zero value (`""`, `false`, `0`)
(https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#optional-vs-required).
Simpler: only these fields of pod specs (in Pods and in every built-in pod template) are
emulated, each seen dropped on kube-apiserver v1.35.4: the pod's `hostNetwork`, `hostPID`,
`hostIPC`, `serviceAccountName`, `nodeName`, `hostname`, `subdomain`,
`priorityClassName`; a container's `workingDir`, `stdin`, `stdinOnce`, `tty`; an env var's
`value`; a port's `hostPort`, `hostIP`, `name`; a volume mount's `readOnly`, `subPath`,
`subPathExpr`; an emptyDir's `medium`.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_UP, Decimal, localcontext
from typing import Any

_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
            "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY_SUFFIX = {exponent: suffix for suffix, exponent in _BINARY.items()}
_SHAPE = re.compile(r"([+-]?)(0*)(\d*)(?:\.(\d*))?([eEinumkKMGTP]*[+-]?\d*)")
_INT64 = 2**63 - 1


def normalize(obj: dict[str, Any]) -> None:
    """Rewrite a built-in object in place as the API server stores it."""
    _walk(obj, obj.get("kind"), ())


def canonical_quantity(text: str, milli: bool = False) -> str:
    """A quantity as the API server prints it (`milli`: rounded up to 1m, as ResourceLists)."""
    parsed = _parse(text)
    if parsed is None:
        return text  # not a quantity: the API server refuses it, the emulator keeps it
    value, form, kept, scale = parsed
    if milli and (kept is None or scale < -3):
        kept = None
        value = _round_up(value, -3)
    return kept if kept is not None else _print(value, form)


def _parse(text: str) -> tuple[Decimal, str, str | None, int] | None:
    """(value, format, text kept as sent or None, scale) as resource.ParseQuantity reads it."""
    # The scale is the int64 path's; the inf.Dec path (its string never kept) says -9.
    if text == "0":
        return Decimal(0), "DecimalSI", text, 0
    shape = _SHAPE.fullmatch(text)
    if shape is None:
        return None
    sign, _zeros, num, denom, suffix = shape.groups()
    num, denom = num or "0", denom or ""
    if suffix in _DECIMAL:
        base, exponent, form = 10, _DECIMAL[suffix], "DecimalSI"
    elif suffix in _BINARY:
        base, exponent, form = 2, _BINARY[suffix], "BinarySI"
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[+-]?\d+", suffix[1:]):
        base, exponent, form = 10, int(suffix[1:]), "DecimalExponent"
    else:
        return None
    digits = f"{num}{denom}"
    if form == "BinarySI":
        precision = 15 - len(num) - int(exponent * 3 / 10) - 1 if not denom else -1
        scale = 0
    else:
        precision, scale = 18 - len(num) - len(denom), exponent - len(denom)
    value = Decimal(f"{sign}{digits}").scaleb(scale) if base == 10 else \
        Decimal(f"{sign}{num}") * 2**exponent
    if precision >= 0 and scale >= -9 and abs(value) <= _INT64:
        # resource.ParseQuantity's int64 path keeps a string already in canonical form
        if form == "BinarySI":
            canonical_form = int(digits) & 0x07 != 0
        else:
            canonical_form = scale % 3 == 0 and not digits.endswith("000") and digits[0] != "0"
        return value, form, text if canonical_form else None, scale
    # inf.Dec path: rounded up to 1n; a binary quantity under 1 prints as decimal
    value = _round_up(Decimal(f"{sign}{num}.{denom or 0}") * (
        Decimal(10) ** exponent if base == 10 else Decimal(2) ** exponent), -9)
    if form == "BinarySI" and 0 < abs(value) < 1:
        form = "DecimalSI"
    return value, form, None, -9


def _round_up(value: Decimal, exponent: int) -> Decimal:
    """Rounded away from zero to a multiple of 10**exponent (inf.RoundUp)."""
    with localcontext() as context:
        context.prec = 100
        return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_UP)


def _print(value: Decimal, form: str) -> str:
    """Quantity.CanonicalizeBytes: mantissa and suffix."""
    if value == 0:
        return "0"
    if form == "BinarySI":
        if -1024 < value < 1024 or value != value.to_integral_value():
            form = "DecimalSI"
        else:
            amount, power = int(value), 0
            while amount % 1024 == 0:
                amount, power = amount // 1024, power + 10
            return f"{amount}{_BINARY_SUFFIX.get(power, '')}"
    sign, digits, exponent = value.normalize().as_tuple()
    amount = int("".join(map(str, digits))) * (-1 if sign else 1)
    assert isinstance(exponent, int)
    while exponent % 3:
        amount, exponent = amount * 10, exponent - 1
    if form == "DecimalExponent":
        return f"{amount}e{exponent}" if exponent else str(amount)
    # a decimal exponent without a suffix prints none, as CanonicalizeBytes does
    return f"{amount}{_DECIMAL_SUFFIX.get(exponent, '')}"


def _quantities(values: Any, milli: bool) -> None:
    if not isinstance(values, dict):
        return
    for name, value in values.items():
        if isinstance(value, str):
            values[name] = canonical_quantity(value, milli)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            values[name] = canonical_quantity(json.dumps(value), milli)


_POD_ZEROES = ("hostNetwork", "hostPID", "hostIPC", "serviceAccountName", "nodeName",
               "hostname", "subdomain", "priorityClassName")
_CONTAINER_ZEROES = ("workingDir", "stdin", "stdinOnce", "tty")
_LISTED_ZEROES = {"env": ("value",), "ports": ("hostPort", "hostIP", "name"),
                  "volumeMounts": ("readOnly", "subPath", "subPathExpr")}


def _drop_zeroes(obj: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if name in obj and obj[name] in ("", False, 0) and not isinstance(obj[name], float):
            del obj[name]


def _pod_spec(spec: dict[str, Any]) -> None:
    _drop_zeroes(spec, _POD_ZEROES)
    _quantities(spec.get("overhead"), milli=True)
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(group) or []:
            if not isinstance(container, dict):
                continue
            _drop_zeroes(container, _CONTAINER_ZEROES)
            for listed, names in _LISTED_ZEROES.items():
                for item in container.get(listed) or []:
                    if isinstance(item, dict):
                        _drop_zeroes(item, names)
    for volume in spec.get("volumes") or []:
        empty_dir = volume.get("emptyDir") if isinstance(volume, dict) else None
        if isinstance(empty_dir, dict):
            _drop_zeroes(empty_dir, ("medium",))
            if isinstance(empty_dir.get("sizeLimit"), str | int | float):
                empty_dir["sizeLimit"] = canonical_quantity(str(empty_dir["sizeLimit"]))


def _walk(node: Any, kind: Any, path: tuple[str, ...]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, kind, path)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("containers"), list):
        _pod_spec(node)  # only a PodSpec has containers among the built-in kinds
    resources = node.get("resources")
    if isinstance(resources, dict):
        for name in ("limits", "requests"):
            _quantities(resources.get(name), milli=True)
    if path == ("spec",) and kind == "ResourceQuota":
        _quantities(node.get("hard"), milli=True)
    if path == ("spec",) and kind == "PersistentVolume":
        _quantities(node.get("capacity"), milli=True)
    if path == ("spec", "limits") and kind == "LimitRange":
        for name in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            _quantities(node.get(name), milli=True)
    for key, value in node.items():
        _walk(value, kind, (*path, key))


def quantity_value(text: Any) -> Decimal:
    """A quantity's value (`500m` is 0.5, `1Gi` 1073741824); 0 for what is not one."""
    parsed = _parse(str(text))
    return parsed[0] if parsed is not None else Decimal(0)
