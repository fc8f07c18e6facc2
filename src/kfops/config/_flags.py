"""Values given on the command line, checked as the platform file's model checks them.

A flag has no YAML line to point at, so a problem is one line: the field's path
inside the value (when it has one) and pydantic's reason, as an InputError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import ValidationError as PydanticValidationError

from kfops.errors import InputError

from ._airgap import Airgap
from ._tenancy import Profile


def airgap_registry(value: str) -> str:
    """`value` as `spec.airgap.registry` accepts it (host[:port][/path]), without a trailing /.

    InputError with the model's reason when it is not one.
    """
    try:
        Airgap(registry=value)
    except PydanticValidationError as error:
        raise InputError(error.errors()[0]["msg"]) from None  # pydantic's adds nothing
    return value.rstrip("/")


def new_profile(name: str, owner: str, quota: Mapping[str, str] | None = None,
                pod_defaults: Sequence[str] = ()) -> Profile:
    """The profile `name` owned by `owner`, checked as `spec.profiles[]` would be.

    InputError `path: reason` (e.g. `quota.cpu: ...`) for the first problem.
    """
    values: dict[str, object] = {"name": name, "owner": owner}
    if quota:
        values["quota"] = dict(quota)
    if pod_defaults:
        values["podDefaults"] = list(pod_defaults)
    try:
        return Profile.model_validate(values)
    except PydanticValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise InputError(f"{where}: {problem['msg']}") from None  # pydantic's adds nothing
