"""The rendered bundle in memory, and writing it to disk."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfops.config import MANIFEST_FILE_LIMIT, FileRefused, read_limited
from kfops.errors import InputError, RenderError
from kfops.objects import STAGES, file_name, kind_rank

from ._contributions import GeneratedValue
from ._documents import load_documents, split_documents
from ._objects import BundleObject

LOCK = "kfops.lock"
IMAGES = "images.txt"
#: CRDs that validate objects but that kfops does not apply (a Helm chart installs them).
SCHEMAS = "schemas"
#: Every Secret of the bundle, mode 0600, kept out of git by the bundle's own .gitignore.
SECRETS = "secrets"
GITIGNORE = ".gitignore"
#: The copy of the last render's `secrets/` in the state directory (`kfops apply --bundle`).
STATE_SECRETS = "bundle-secrets"


@dataclass
class Bundle:
    """Everything `render` produces: files of objects, the image list and the lock."""

    files: dict[str, list[BundleObject]]
    """Bundle-relative path -> objects, in apply order."""
    images: list[str]
    lock: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    generated: list[GeneratedValue] = field(default_factory=list)
    """Where the render wrote values from the state directory."""
    extra_files: dict[str, str] = field(default_factory=dict)
    """Files that are not applied (Helm values and commands): bundle path -> text."""

    @property
    def objects(self) -> list[BundleObject]:
        """Every object, in apply order."""
        return [item for items in self.files.values() for item in items]

    def file_texts(self) -> dict[str, str]:
        """Every file of the bundle, path -> text (the lock records their digests).

        Secrets go to `secrets/<stage>/<component>.yaml` beside their stage file,
        so the rest of the bundle can be reviewed and committed without a secret.
        """
        texts: dict[str, str] = {GITIGNORE: f"/{SECRETS}/\n"}
        for path, items in self.files.items():
            for relative, group in ((path, [o for o in items if o.kind != "Secret"]),
                                    (f"{SECRETS}/{path}", [o for o in items
                                                           if o.kind == "Secret"])):
                if group:
                    texts[relative] = "---\n".join(o.text for o in group)
        texts.update(self.extra_files)
        texts[IMAGES] = "".join(f"{image}\n" for image in self.images)
        lock = {**self.lock, "files": {
            path: "sha256:" + hashlib.sha256(text.encode()).hexdigest()
            for path, text in sorted(texts.items())
        }}
        texts[LOCK] = (
            "# Written by kfops render: what produced this bundle. Do not edit.\n"
            + yaml.dump(lock, Dumper=yaml.CSafeDumper, sort_keys=True, default_flow_style=False,
                        width=1 << 16)
        )
        return texts

    def secret_files(self) -> set[str]:
        """Files holding a Secret (all under `secrets/`): readable by the owner only."""
        return {path for path in self.file_texts() if path.startswith(f"{SECRETS}/")}


def write_bundle(bundle: Bundle, out: Path) -> None:
    """Write `bundle` to `out`, replacing an earlier bundle there as a whole.

    The new bundle is written beside `out` first and swapped in, so a failure
    leaves the previous bundle untouched. A folder that is not a kfops bundle
    is never replaced.
    """
    if out.exists() and any(out.iterdir()) and not (out / LOCK).exists():
        raise RenderError(
            f"{out} exists and is not a kfops bundle (no {LOCK}); choose an empty or new folder"
        )
    texts = bundle.file_texts()
    if out.exists() and _holds_exactly(out, texts):  # a no-change render writes nothing
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = out.with_name(f".{out.name}.new-{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    try:
        (staged / SECRETS).mkdir(mode=0o700, parents=True)
        for relative, text in texts.items():
            _create(staged / relative, text, _mode(relative))
        _swap(staged, out)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def keep_secret_files(bundle: Bundle, state_dir: Path) -> None:
    """Copy the bundle's `secrets/` files into `state_dir`/STATE_SECRETS, replacing the copy of
    the last render; folders 0700, files 0600 from their creation.

    A bundle committed to git has no `secrets/` (its .gitignore keeps it out):
    `kfops apply --bundle` of that checkout finds them here, digests checked
    against the lock like every file.
    """
    texts = {_stage_path(relative): text for relative, text in bundle.file_texts().items()
             if relative.startswith(f"{SECRETS}/")}
    target = state_dir / STATE_SECRETS
    if _holds_exactly(target, texts, 0o600):
        return  # a no-change render writes nothing
    if not state_dir.is_dir():
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = state_dir / f".{STATE_SECRETS}.new-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    try:
        staged.mkdir(mode=0o700)
        for relative, text in texts.items():
            _create(staged / relative, text, 0o600)
        _swap(staged, target)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _mode(relative: str) -> int:
    return 0o600 if relative.startswith(f"{SECRETS}/") else 0o644


def _create(path: Path, text: str, mode: int) -> None:
    """A new file, with `mode` from its creation: a secret is never readable by others."""
    folder_mode = 0o700 if mode == 0o600 else 0o755
    path.parent.mkdir(mode=folder_mode, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(fd, mode)  # exactly `mode`, whatever the umask took away, before any byte
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _holds_exactly(out: Path, texts: dict[str, str], mode: int | None = None) -> bool:
    """Whether `out` holds exactly these files, each with `mode` (default: as the bundle
    writes it)."""
    try:
        present = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
        if present != set(texts):
            return False
        for relative, text in texts.items():
            path = out / relative
            if (path.stat().st_mode & 0o777) != (mode or _mode(relative)):
                return False
            if path.read_bytes() != text.encode():
                return False
    except OSError:
        return False
    return True


def _swap(staged: Path, out: Path) -> None:
    if not out.exists():
        staged.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    staged.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def read_bundle_objects(folder: Path, *, secrets_dir: Path | None = None,
                        paths: Collection[str] | None = None,
                        ) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    """(objects, their digests, lock) of a bundle on disk, stage folders in order.

    A bundle may come from someone else (a pull request, a copy): every file is
    read within the bundle folder, up to MANIFEST_FILE_LIMIT, and parsed within
    bounds; a problem is an InputError naming the file (and line). `secrets_dir`
    and `paths` as for read_bundle_files.
    """
    lock = read_lock(folder)
    objects: list[dict[str, Any]] = []
    digests: list[str] = []
    for relative in sorted(lock["files"] if paths is None else paths, key=_stage_path):
        if not _holds_objects(relative):
            continue
        origin = str(bundle_file_path(folder, relative, secrets_dir))
        for text, obj in split_documents(bundle_file_text(folder, relative, secrets_dir),
                                         origin=origin):
            objects.append(obj)
            digests.append(hashlib.sha256(text.encode()).hexdigest())
    return objects, digests, lock


def read_lock(folder: Path) -> dict[str, Any]:
    """The lock of the bundle in `folder` (a mapping whose `files` is a mapping)."""
    try:
        text = read_bundle_text(folder, LOCK)
    except InputError as error:
        # adds nothing: its message is here
        raise InputError(f"{folder} is not a kfops bundle: {error}") from None
    documents = load_documents(text, origin=str(folder / LOCK))
    lock = documents[0] if len(documents) == 1 else None
    files = lock.get("files", {}) if isinstance(lock, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) for k in files):
        raise InputError(f"{folder / LOCK} is not a kfops lock file (one mapping with files)")
    assert isinstance(lock, dict)
    lock.setdefault("files", {})
    return lock


def read_bundle_text(folder: Path, relative: str) -> str:
    """The text of the bundle file `relative`: a regular file inside `folder`, bounded."""
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise InputError(f"{folder / LOCK} names {relative!r}, which is not inside the bundle")
    path = folder / relative
    try:
        if not path.resolve().is_relative_to(folder.resolve()):
            raise FileRefused(f"{path} leads outside the bundle ({path.resolve()})")
        return read_limited(path, MANIFEST_FILE_LIMIT).decode("utf-8")
    except FileRefused as error:
        raise InputError(str(error)) from None  # adds nothing: its message is here
    except UnicodeDecodeError:
        # no cause: it holds the file's bytes (a Secret's)
        raise InputError(f"{path} is not UTF-8 text") from None
    except FileNotFoundError as error:
        hint = (f"; {SECRETS}/ is kept out of git: render the bundle again, or copy its "
                f"{SECRETS}/ folder over" if relative.startswith(f"{SECRETS}/") else "")
        raise InputError(f"{path} is missing{hint}") from error
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from error


def read_bundle_files(folder: Path, secrets: bool = True, *, secrets_dir: Path | None = None,
                      paths: Collection[str] | None = None) -> tuple[
        list[tuple[str, str, list[dict[str, Any]]]], dict[str, Any]]:
    """([(path, component, objects)] in apply order, lock) of a bundle on disk.

    A stage file and its Secrets (under `secrets/`) are one file again, in
    the order the render gave them. Without `secrets` the Secrets are left
    out: what status and uninstall need is in the reviewable part, which a
    bundle checked out of git has without its `secrets/`. `secrets_dir`: where
    the files of `secrets/` are read (the state directory's copy, for a bundle
    checked out of git); `paths`: the bundle files to read (default: the lock's).
    """
    lock = read_lock(folder)
    components = [str(c.get("name")) for c in _list(lock.get("components"))
                  if isinstance(c, dict)]
    by_file = {file_name(name): name for name in components}
    merged: dict[str, list[dict[str, Any]]] = {}
    for relative in sorted(lock["files"] if paths is None else paths):
        if _holds_objects(relative) and (secrets or not relative.startswith(f"{SECRETS}/")):
            text = bundle_file_text(folder, relative, secrets_dir)
            origin = str(bundle_file_path(folder, relative, secrets_dir))
            merged.setdefault(_stage_path(relative), []).extend(
                obj for _, obj in split_documents(text, origin=origin))
    files = []
    for path in sorted(merged, key=lambda p: (p.split("/")[0], _rank(
            by_file.get(p.rsplit("/", 1)[-1], ""), components))):
        objects = sorted(merged[path], key=lambda o: kind_rank(str(o.get("kind"))))
        files.append((path, by_file.get(path.rsplit("/", 1)[-1], path), objects))
    return files, lock


def bundle_file_text(folder: Path, relative: str, secrets_dir: Path | None) -> str:
    """The text of the bundle file `relative`, its `secrets/` part from `secrets_dir` if given."""
    if secrets_dir is not None and relative.startswith(f"{SECRETS}/"):
        return read_bundle_text(secrets_dir, _stage_path(relative))
    return read_bundle_text(folder, relative)


def bundle_file_path(folder: Path, relative: str, secrets_dir: Path | None) -> Path:
    """Where the bundle file `relative` is read from (for messages)."""
    if secrets_dir is not None and relative.startswith(f"{SECRETS}/"):
        return secrets_dir / _stage_path(relative)
    return folder / relative


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _stage_path(relative: str) -> str:
    """The stage file a bundle file belongs to (`secrets/30-platform/dex.yaml` -> ...dex.yaml)."""
    return relative.removeprefix(f"{SECRETS}/")


def _holds_objects(relative: str) -> bool:
    """Whether a bundle file holds objects to apply (not Helm values or scripts)."""
    path = _stage_path(relative)
    return path.endswith(".yaml") and path.split("/", 1)[0] in STAGES


def _rank(component: str, order: list[str]) -> int:
    return order.index(component) if component in order else len(order)
