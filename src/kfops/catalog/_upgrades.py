"""What an upgrade between release lines needs that comparing two renders cannot show.

Most of an upgrade's facts come from the renders (objects added, removed, renamed,
CRD storage versions, immutable fields, image versions). What they cannot show is
here, each fact with its source:

- which release lines a line upgrades from directly (an older one goes through the
  lines between);
- components replaced by another implementation under the same name (the objects
  only look removed and added);
- the upgrade policy of the projects Kubeflow bundles (how many minor versions one
  step may jump), and the images that tell their versions;
- what cannot be undone: changes a database makes to its data on first start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Replacement:
    """A component whose implementation changes between two release lines."""

    component: str
    old: str
    new: str
    note: str
    stop_first: tuple[str, ...] = ()
    """Old controllers (`Deployment namespace/name`) scaled to zero before the new one
    starts, so the two never act on the same objects."""


@dataclass(frozen=True)
class ProjectPolicy:
    """A bundled project, how to read its version from a workload, and its upgrade policy."""

    project: str
    image: str
    """Regular expression matched against an image reference without its tag or digest; an
    image pinned by digest tells its version by its workload's `app.kubernetes.io/version`."""
    minor_steps: int = 1
    """How many minor versions one upgrade may move."""
    policy: str = ""
    url: str = ""


@dataclass(frozen=True)
class OneWay:
    """A change its software makes to stored data on first start, with no way back."""

    what: str
    image: str
    """Regular expression matched against the image reference without its tag."""
    crosses: tuple[int, ...]
    """The version at or above which the change is made, e.g. (2, 15) or (8, 4)."""
    why: str
    url: str


UPGRADES_FROM: dict[str, tuple[str, ...]] = {
    # A patch upgrade within a line is always direct.
    "v1.10.x": ("v1.10.x",),
    # The 1.11 release notes describe no step required before it; kfops's catalog
    # has no 1.11 line, so 26.03 is reached from 1.10 or 1.11 directly.
    "26.03": ("v1.10.x", "v1.11.x", "26.03"),
}
"""Per release line, the installed lines it upgrades from in one step."""

REPLACEMENTS: dict[tuple[str, str], tuple[Replacement, ...]] = {
    ("v1.10.x", "26.03"): (
        Replacement(
            "trainer", "Training Operator v1 (PyTorchJob, TFJob, MPIJob, JAXJob, PaddleJob, "
            "XGBoostJob; namespace kubeflow)", "Kubeflow Trainer v2 with JobSet (TrainJob, "
            "TrainingRuntime; namespace kubeflow-system)",
            "v1 jobs are not converted: each becomes a TrainJob by hand "
            "(https://www.kubeflow.org/docs/components/trainer/operator-guides/migration/); "
            "PaddleJob has no v2 runtime",
            stop_first=("Deployment kubeflow/training-operator",)),
        Replacement(
            "pipelines", "MinIO (artifacts in PVC minio-pvc)",
            "SeaweedFS (artifacts in PVC seaweedfs-pvc, per-namespace credentials)",
            "upstream does not move the artifacts (Kubeflow 1.11 release notes: 'Please "
            "backup and restore any data that you have on MinIO'); kfops copies them with a "
            "Job, verifies the copy, and keeps minio-pvc"),
    ),
}
"""Per (installed line, new line), the components implemented anew."""

PROJECTS: tuple[ProjectPolicy, ...] = (
    ProjectPolicy(
        "Istio", r"(^|/)pilot$", minor_steps=1,
        policy="in-place upgrades move one minor version at a time",
        url="https://istio.io/latest/docs/setup/upgrade/in-place/"),
    ProjectPolicy(
        "Knative Serving", r"knative\.dev/serving/cmd/controller$",
        minor_steps=1,
        policy="Knative supports upgrading by a single minor version number",
        url="https://knative.dev/docs/install/upgrade/"),
    ProjectPolicy(
        "Knative Eventing", r"knative\.dev/eventing/cmd/controller$",
        minor_steps=1,
        policy="Knative supports upgrading by a single minor version number",
        url="https://knative.dev/docs/install/upgrade/"),
    ProjectPolicy(
        "cert-manager", r"cert-manager-controller$", minor_steps=1,
        policy="upgrade cert-manager one minor version at a time (recommended)",
        url="https://cert-manager.io/docs/installation/upgrade/"),
)
"""Bundled projects whose own upgrade policy limits one step."""

ONE_WAY: tuple[OneWay, ...] = (
    OneWay("Kubeflow Pipelines database index migration",
           r"(kfp-api-server|ml-pipeline/api-server)$", (2, 15),
           "KFP 2.15 migrates the database's indexes at the API server's first start; the "
           "migration has no rollback (restore the backup's dump to go back)",
           "https://www.kubeflow.org/docs/components/pipelines/concepts/metadata/"),
    OneWay("MySQL 8.4 data directory", r"(^|/)mysql$", (8, 4),
           "MySQL 8.4 upgrades the 8.0 data directory in place; going back to 8.0 is only "
           "by logical dump and load (the backup's dump)",
           "https://dev.mysql.com/doc/refman/8.4/en/downgrading.html"),
)
"""Changes made to data when the new version first starts."""


def version_numbers(text: str) -> tuple[int, ...]:
    """`v1.26.1` → (1, 26, 1), `26.03` → (26, 3), `8.0.26` → (8, 0, 26); () when none."""
    match = re.search(r"(\d+(?:\.\d+)*)", text)
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def release_order(version: str) -> tuple[int, ...]:
    """A release's place in time: v1.10.2 < v1.11.0 < 26.03 (calendar versions follow 1.x)."""
    return version_numbers(version)


def releases_between(installed_line: str, new_line: str) -> list[str] | None:
    """The release lines an upgrade from `installed_line` must go through first: [] when it
    is direct, None when the catalog knows no path (a line it does not list)."""
    direct = UPGRADES_FROM.get(new_line)
    if direct is None or installed_line in direct:
        return []
    via = [line for line in direct if installed_line in UPGRADES_FROM.get(line, ())]
    if via:
        return [via[0]]
    older = [line for line in direct if release_order(line) > release_order(installed_line)]
    return sorted(older, key=release_order)[:1] or None
