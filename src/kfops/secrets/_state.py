"""The state directory: generated secret values kept per install, readable by the owner only."""

from __future__ import annotations

import json
import os
import secrets as random
import string
import tempfile
from collections.abc import Callable
from pathlib import Path

from kfops.errors import StateError

_FILE = "secrets.json"
ALPHANUMERIC = string.ascii_letters + string.digits


def state_dir_for(platform_file: Path) -> Path:
    """`KFOPS_STATE_DIR`, else `.kfops/` next to the platform file."""
    explicit = os.environ.get("KFOPS_STATE_DIR")
    return Path(explicit).expanduser() if explicit else platform_file.parent / ".kfops"


def random_token(length: int = 32, alphabet: str = ALPHANUMERIC) -> str:
    """A random string from a cryptographically secure source."""
    return "".join(random.choice(alphabet) for _ in range(length))


class StateDir:
    """Generated values of one install, created once and then returned unchanged.

    A folder kfops creates is mode 0700; an existing one (`KFOPS_STATE_DIR`)
    keeps its mode. The file is created 0600 from its first byte; values are
    never logged. A value the cluster already holds can be adopted with
    :meth:`adopt` (apply does this) so that a second administrator does not
    rotate it by accident.

    With `write_through=False` new values stay in memory until :meth:`save`: a
    render saves them only once the bundle is valid, and `kfops validate` and
    `kfops plan` never do (they read an existing state, and write nothing).
    """

    def __init__(self, path: Path, write_through: bool = True) -> None:
        self.path = path
        self.write_through = write_through
        self._values: dict[str, str] | None = None
        self._unsaved = False
        self._scratch = False

    @classmethod
    def scratch(cls, path: Path) -> StateDir:
        """The values kept at `path`, with new and adopted ones held in memory only.

        What `plan` uses: it renders exactly as apply would, and nothing reaches
        the disk (no temporary copy that a killed process could leave behind).
        """
        state = cls(path, write_through=False)
        state._scratch = True
        return state

    def generated(self, name: str, make: Callable[[], str] = random_token) -> str:
        """The value called `name`, made with `make` the first time it is asked for."""
        values = self._load()
        if name not in values:
            values[name] = make()
            self._changed()
        return values[name]

    def adopt(self, name: str, value: str) -> None:
        """Record the value the cluster already holds for `name`."""
        values = self._load()
        if values.get(name) != value:
            values[name] = value
            self._changed()

    def save(self) -> None:
        """Write values made or adopted since the last save (nothing when there are none;
        never for a scratch state)."""
        if self._unsaved and self._values is not None and not self._scratch:
            self._save(self._values)
            self._unsaved = False

    def _changed(self) -> None:
        self._unsaved = True
        if self.write_through:
            self.save()

    def forget(self, names: set[str]) -> None:
        """Drop the values called `names`, so the next render generates new ones (rotation)."""
        values = self._load()
        if names & set(values):
            self._values = {k: v for k, v in values.items() if k not in names}
            self._changed()

    def names(self) -> list[str]:
        """The names of the values kept (never the values)."""
        return sorted(self._load())

    def _load(self) -> dict[str, str]:
        if self._values is None:
            file = self.path / _FILE
            try:
                mode = file.stat().st_mode & 0o777
                if mode & 0o077:
                    raise StateError(
                        f"{file} is readable by others (mode {mode:o}); run chmod 600 {file}")
                data = json.loads(file.read_text(encoding="utf-8"))
            except FileNotFoundError:
                data = {}
            except OSError as error:
                raise StateError(f"cannot read {file}: {error}") from error
            except ValueError as error:
                # No cause: a JSON or UTF-8 decoding error holds the text, the secret values.
                raise StateError(f"cannot read {file}: {error}") from None
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise StateError(f"{file} is not a kfops state file")
            self._values = dict(data)
        return self._values

    def _save(self, values: dict[str, str]) -> None:
        temp = None
        try:
            if not self.path.is_dir():
                # Created 0700 (the umask can only take bits away); a folder that
                # exists is the user's (KFOPS_STATE_DIR) and keeps its mode.
                self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path, prefix=".secrets.")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp creates it 0600
                json.dump(values, handle, indent=2, sort_keys=True)
            Path(temp).replace(self.path / _FILE)
        except OSError as error:
            if temp is not None:
                Path(temp).unlink(missing_ok=True)
            raise StateError(f"cannot write the state directory {self.path}: {error}") from error
