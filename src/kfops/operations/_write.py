"""`kfops render`: the rendered bundle written to disk, and `kfops validate --bundle`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from kfops.config import LoadedPlatform
from kfops.errors import ValidationError
from kfops.render import RenderResult, keep_secret_files, validate_bundle, write_bundle
from kfops.validate import ExtraCrd, ValidationReport


def bundle_folder(loaded: LoadedPlatform, out: Path | None = None) -> Path:
    """Where the bundle of `loaded` is written: `out`, else bundle/ next to the platform file."""
    return out or loaded.base_dir / "bundle"


def write_rendered(result: RenderResult, folder: Path, state_dir: Path | None = None) -> None:
    """Write the bundle of `result` into `folder`, and a copy of its secret files into
    `state_dir` (for `apply --bundle` of a checkout without them); the time it took joins
    `result.timings` as `write`."""
    started = time.perf_counter()
    write_bundle(result.bundle, folder)
    if state_dir is not None:
        keep_secret_files(result.bundle, state_dir)
    result.timings["write"] = time.perf_counter() - started


def check_bundle(folder: Path, extra_crds: Sequence[ExtraCrd] = ()) -> ValidationReport:
    """Validate the written bundle in `folder`; ValidationError (bad input) naming every
    object that fails."""
    report = validate_bundle(folder, extra_crds)
    if not report.ok:
        raise ValidationError(report.problems)
    return report
