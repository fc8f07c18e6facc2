"""The contribution interface: phases in order, lock entries each contribution owns, and the
contribution's name on its errors, warnings and time (on the real 26.03 render)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfops.config import load_platform
from kfops.errors import KfopsError, RenderError, ValidationError, ValidationProblem
from kfops.render import (
    LOCK,
    Contribution,
    EditableBundle,
    Phase,
    RenderContext,
    RenderOptions,
    RenderResult,
    render,
)
from tests.conftest import PlatformWriter

TOOL = "quay.io/org/tool:1.2"


class Probe:
    """A contribution that notes when it ran and does what the test gives it."""

    def __init__(self, name: str, phase: Phase, ran: list[str],
                 does: Callable[[EditableBundle], object] = lambda bundle: None) -> None:
        self.name = name
        self.phase = phase
        self.ran = ran
        self.does = does

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        self.ran.append(self.name)
        self.does(bundle)


def _render(platform_file: PlatformWriter, *contributions: Contribution) -> RenderResult:
    return render(load_platform(platform_file()),
                  RenderOptions(offline=True, contributions=contributions))


def _tool() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "tool", "namespace": "kubeflow"},
            "spec": {"selector": {"matchLabels": {"app": "tool"}},
                     "template": {"metadata": {"labels": {"app": "tool"}},
                                  "spec": {"containers": [{"name": "tool", "image": TOOL}]}}}}


def _move_first_image(bundle: EditableBundle) -> None:
    """What an air gap does: the first upstream Deployment's image points elsewhere."""
    deployment = next(d for d in bundle.of_kind("Deployment") if d.component != "probe")
    container = bundle.edit(deployment)["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "registry.internal:5000/moved:1"


def test_phases_run_in_order_and_each_in_the_order_given(
        platform_file: PlatformWriter, tmp_path: Path) -> None:
    ran: list[str] = []
    result = _render(
        platform_file,
        Probe("check", Phase.CHECKS, ran),
        Probe("move", Phase.IMAGES, ran, _move_first_image),
        Probe("first", Phase.SHAPE, ran, lambda b: b.add(_tool(), "probe", "test")),
        Probe("second", Phase.SHAPE, ran, lambda b: b.warn("second: a warning")),
        Probe("last", Phase.CHECKS, ran, lambda b: b.record("probe", {"checked": True})),
    )
    assert ran == ["first", "second", "move", "check", "last"]
    assert [(c.name, c.phase) for c in result.contributed] == [
        ("first", Phase.SHAPE), ("second", Phase.SHAPE), ("move", Phase.IMAGES),
        ("check", Phase.CHECKS), ("last", Phase.CHECKS)]
    # Warnings keep their text and are told apart by who gave them.
    assert "second: a warning" in result.bundle.warnings
    assert {c.name: c.warnings for c in result.contributed}["second"] == ("second: a warning",)
    assert all(not c.warnings for c in result.contributed if c.name != "second")
    # The image list is taken before the images phase: what was shaped in, not what was moved.
    assert TOOL in result.bundle.images
    assert "registry.internal:5000/moved:1" not in result.bundle.images
    # A recorded entry is the lock's, as written.
    assert result.bundle.lock["probe"] == {"checked": True}
    lock = yaml.safe_load(result.bundle.file_texts()[LOCK])
    assert lock["probe"] == {"checked": True}


def test_two_contributions_recording_one_lock_key_fail_naming_both(
        platform_file: PlatformWriter) -> None:
    ran: list[str] = []
    with pytest.raises(RenderError, match="contributions mine and theirs both record "
                                          "shared in the lock"):
        _render(platform_file,
                Probe("mine", Phase.SHAPE, ran, lambda b: b.record("shared", 1)),
                Probe("theirs", Phase.CHECKS, ran, lambda b: b.record("shared", 2)))


def test_a_contribution_records_again_what_it_owns(platform_file: PlatformWriter) -> None:
    def twice(bundle: EditableBundle) -> None:
        bundle.record("counted", 1)
        bundle.record("counted", 2)

    result = _render(platform_file, Probe("counter", Phase.SHAPE, [], twice))
    assert result.bundle.lock["counted"] == 2


def test_a_key_kfops_writes_is_not_a_contribution_s(platform_file: PlatformWriter) -> None:
    with pytest.raises(RenderError, match="contribution thief records components in the lock, "
                                          "which kfops itself writes"):
        _render(platform_file,
                Probe("thief", Phase.SHAPE, [], lambda b: b.record("components", [])))


def _refuse(error: Exception) -> Callable[[EditableBundle], None]:
    def refuse(bundle: EditableBundle) -> None:
        raise error

    return refuse


@pytest.mark.parametrize("error", [
    RenderError("the release has no ConfigMap kubeflow/missing"),
    ValidationError([ValidationProblem("Secret kubeflow/s", "data.key", "holds a default")]),
], ids=["RenderError", "ValidationError"])
def test_an_error_inside_a_contribution_names_it(platform_file: PlatformWriter,
                                                 error: KfopsError) -> None:
    with pytest.raises(type(error)) as caught:
        _render(platform_file, Probe("fine", Phase.SHAPE, []),
                Probe("strict", Phase.CHECKS, [], _refuse(error)))
    assert caught.value is error
    assert caught.value.__notes__ == ["raised by the render's strict feature (checks phase)"]
    assert caught.value.lines()[-1] == "raised by the render's strict feature (checks phase)"


def test_two_contributions_of_one_name_are_refused(platform_file: PlatformWriter) -> None:
    ran: list[str] = []
    with pytest.raises(RenderError, match="two contributions are named twin"):
        _render(platform_file, Probe("twin", Phase.SHAPE, ran),
                Probe("twin", Phase.CHECKS, ran))
    assert ran == []
