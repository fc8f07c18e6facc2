"""`kfops render` writes the bundle next to the platform file (or --out) and times it;
`kfops validate --bundle` turns a failing report into bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfops.config import load_platform
from kfops.errors import ValidationError
from kfops.operations import bundle_folder, check_bundle, render_platform, write_rendered
from kfops.render import RenderOptions
from tests.conftest import PlatformWriter


def test_the_bundle_is_written_timed_and_checked_again(platform_file: PlatformWriter,
                                                        tmp_path: Path) -> None:
    loaded = load_platform(platform_file())
    assert bundle_folder(loaded) == tmp_path / "bundle"
    assert bundle_folder(loaded, tmp_path / "elsewhere") == tmp_path / "elsewhere"
    result = render_platform(loaded, RenderOptions(offline=True))
    assert "write" not in result.timings
    write_rendered(result, tmp_path / "bundle")
    assert result.timings["write"] > 0 and (tmp_path / "bundle" / "kfops.lock").is_file()
    assert check_bundle(tmp_path / "bundle").checked == len(result.bundle.objects)

    katib = tmp_path / "bundle" / "30-platform" / "katib.yaml"
    katib.write_text(katib.read_text().replace("\n  replicas: 1\n", "\n  replicas: one\n", 1))
    with pytest.raises(ValidationError) as caught:
        check_bundle(tmp_path / "bundle")
    assert caught.value.exit_code == 2
    assert 'spec.replicas: expected an integer, got "one"' in str(caught.value)
