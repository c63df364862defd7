"""Which landing folders are ready to load, and which of them are new (no Dagster here).

An MIS export drops one folder per extract into the landing folder (env
``TINYTRACKER_LANDING_DIR``, default ``landing/`` in the project) and, once every file is
written, an empty ``_READY`` marker file. Only folders with the marker are ready: a folder
still being copied is never loaded half-written.

A folder's *fingerprint* hashes the name, size and modification time of every file in it
(the marker included), so the run key ``<folder>:<fingerprint>`` changes when a folder is
re-delivered or its marker is touched again, and a folder is loaded once per delivery. Sizes
and times are used, not file contents: hashing every extract every 30 seconds would read
gigabytes; the loader records each file's content checksum in ``raw.load_log`` anyway.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tinytracker.core.paths import PROJECT_DIR

LANDING_DIR_ENV = "TINYTRACKER_LANDING_DIR"
DEFAULT_LANDING_DIR = "landing"
READY_MARKER = "_READY"
FINGERPRINT_LENGTH = 16


def landing_dir() -> Path:
    """The landing folder: env ``TINYTRACKER_LANDING_DIR`` (relative to the project) or
    ``landing/``."""
    path = Path(os.environ.get(LANDING_DIR_ENV, DEFAULT_LANDING_DIR))
    return path if path.is_absolute() else PROJECT_DIR / path


def resolve_extract_folder(value: str) -> Path:
    """A folder given in run config: absolute, or a folder name inside the landing folder."""
    path = Path(value.strip())
    return path if path.is_absolute() else landing_dir() / path


@dataclass(frozen=True)
class LandingFolder:
    name: str
    path: Path
    fingerprint: str

    @property
    def run_key(self) -> str:
        return f"{self.name}:{self.fingerprint}"


def fingerprint(folder: Path) -> str:
    """Hash of (name, size, mtime) of every file directly in the folder (extracts are flat)."""
    digest = hashlib.sha256()
    for entry in sorted(folder.iterdir()):
        if entry.is_file():
            stat = entry.stat()
            digest.update(f"{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:FINGERPRINT_LENGTH]


def is_ready(folder: Path) -> bool:
    return folder.is_dir() and (folder / READY_MARKER).is_file()


def ready_folders(root: Path) -> list[LandingFolder]:
    """Every extract folder under ``root`` that carries the marker, by name. Hidden folders
    (``.name``) and folders starting with ``_`` (e.g. an operator's ``_archive``) are ignored."""
    if not root.is_dir():
        return []
    return [
        LandingFolder(entry.name, entry, fingerprint(entry))
        for entry in sorted(root.iterdir())
        if not entry.name.startswith((".", "_")) and is_ready(entry)
    ]


SKIPPED_PREFIX = "skipped:"
"""Cursor value of a folder skipped (MIS permission revoked), not loaded: ``skipped:<fp>``."""


def new_folders(folders: Iterable[LandingFolder], seen: Mapping[str, str]) -> list[LandingFolder]:
    """Folders not loaded before: new, re-delivered (another fingerprint), or skipped last time.

    A skipped folder is reconsidered on every tick (its cursor value is not its fingerprint),
    so once its organisation's permission is granted again it is loaded without a
    re-delivery.
    """
    return [folder for folder in folders if seen.get(folder.name) != folder.fingerprint]


def was_skipped(folder: LandingFolder, seen: Mapping[str, str]) -> bool:
    """Whether this delivery of the folder was already skipped (so it need not be reported
    again)."""
    return seen.get(folder.name) == SKIPPED_PREFIX + folder.fingerprint


def decode_cursor(cursor: str | None) -> dict[str, str]:
    """The sensor cursor: ``{folder name: fingerprint}`` of the ready folders last seen."""
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def encode_cursor(folders: Iterable[LandingFolder], skipped: Iterable[LandingFolder] = ()) -> str:
    """Only folders still present are kept, so the cursor does not grow forever; Dagster's
    run keys still stop a removed-and-restored identical folder loading twice. ``skipped``
    folders are marked as such, so :func:`new_folders` offers them again."""
    skipped_names = {folder.name for folder in skipped}
    return json.dumps(
        {
            folder.name: (
                SKIPPED_PREFIX + folder.fingerprint
                if folder.name in skipped_names
                else folder.fingerprint
            )
            for folder in folders
        },
        sort_keys=True,
    )


def load_run_config(folder: Path) -> dict:
    """Run config of job ``load_extract`` for one folder."""
    return {"ops": {"load_extract_folder": {"config": {"folder": str(folder)}}}}
