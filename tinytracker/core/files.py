"""Warehouse files: physical erasure by rebuild, consistent copies, atomic swaps, shredding.

DuckDB's DELETE and UPDATE leave the old values in the database file's free blocks, even
after CHECKPOINT, so a retention run that erased anything is not finished until the file
itself no longer holds them. :func:`rebuild` copies the live database into a fresh file
(``COPY FROM DATABASE`` writes only live rows) and swaps it in with one atomic rename:
killed at any moment, the path holds either the old file or the complete new one. The old
inode is zero-filled before it is unlinked so its blocks do not keep the erased values.

The copy and the swap happen while one connection holds the old file open read-write, which
holds DuckDB's single-writer lock: no other process can commit a row between the copy and the
swap (it would be lost with the old file). :func:`holding_warehouse_lock` and
:func:`swap_in_locked` are that mechanism, for any code that replaces the warehouse file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from tinytracker.core import faults
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.paths import db_path
from tinytracker.core.warehouse import connect, fetch_row


# Called by :func:`rebuild` after the copy is complete and before the swap, with the
# warehouse path, while the lock is held; tests replace it to try to write in that window.
def _nothing_before_swap(db: Path) -> None:
    """The default: nothing runs between the copy and the swap."""


before_swap: Callable[[Path], None] = _nothing_before_swap


RESTORE_SUFFIX = ".restore"
"""The restored copy a restore prepares beside the warehouse before swapping it in."""


def _sidecars(db: Path) -> tuple[Path, Path]:
    return db.with_name(db.name + ".rebuild"), db.with_name(db.name + ".old")


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def shred(path: Path) -> None:
    """Overwrite a file with zeros, then unlink it, so its old blocks hold no erased values."""
    size = path.stat().st_size
    chunk = b"\0" * (1 << 20)
    with open(path, "r+b", buffering=0) as handle:
        remaining = size
        while remaining > 0:
            remaining -= handle.write(chunk[: min(len(chunk), remaining)])
        os.fsync(handle.fileno())
    path.unlink()


def cleanup_interrupted_rebuild(db: Path | None = None) -> None:
    """Remove what a killed rebuild or restore left behind (an unfinished copy, a prepared
    restore, an unshredded old file).

    Call it while holding the warehouse lock (as :func:`rebuild` does): the lock is what
    tells a leftover from the copy of a rebuild still running in another process.
    """
    db = db or db_path()
    pending, old = _sidecars(db)
    restoring = db.with_name(db.name + RESTORE_SUFFIX)
    # a copy made for a rebuild or a restore holds personal data (a restore's, every value
    # erased since its backup): zero-filled, not only unlinked
    for leftover in (pending, restoring):
        for path in (leftover, leftover.with_name(leftover.name + ".wal")):
            if path.exists():
                shred(path)
    _finish_old(db, old)


def _finish_old(db: Path, old: Path) -> None:
    """Zero-fill and unlink the replaced file's last name, unless it is still the live file.

    A swap killed between linking ``old`` and the rename leaves ``old`` as a second name of
    the live warehouse: that name is only unlinked, never zero-filled.
    """
    if not old.exists():
        return
    if db.exists() and os.path.samefile(db, old):
        old.unlink()
    else:
        shred(old)


@contextmanager
def holding_warehouse_lock(db: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on ``db`` kept open for the block: it holds DuckDB's lock.

    While it is open no other process can open the file at all (a writer or a reader waits
    in :func:`tinytracker.core.warehouse.connect` and then fails with the lock message), so
    whatever the block copies or swaps cannot miss a row committed meanwhile.
    """
    con = connect(db or db_path())  # waits briefly on another writer, like every writer
    try:
        yield con
    finally:
        con.close()


def copy_into(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Write every schema, table, view and macro of ``con``'s database into a new file.

    ``COPY FROM DATABASE`` writes only live rows, so ``target`` holds no deleted or
    overwritten value. ``con`` keeps its lock throughout; ``target`` is detached (and so
    checkpointed, with no WAL) and fsynced before this returns.
    """
    if target.exists():
        target.unlink()
    (source,) = fetch_row(con, "select current_database()")
    con.execute("checkpoint")
    con.execute("attach ? as tt_copy_target", [str(target)])
    try:
        con.execute(f'copy from database "{source}" to tt_copy_target')
    finally:
        con.execute("detach tt_copy_target")
    fsync(target)


def swap_in_locked(db: Path, replacement: Path) -> None:
    """Atomically put ``replacement`` at ``db`` and zero-fill the old file's blocks.

    Call it inside :func:`holding_warehouse_lock` for ``db``, after the last write to
    ``replacement`` (closed or detached, so it has no WAL): the old file is shredded before
    the caller releases the lock, so no other process ever opens the old file after the
    copy was taken. Killed at any moment, ``db`` names the old file or the complete new one;
    an unshredded old file is finished by :func:`cleanup_interrupted_rebuild`.
    (retention/restore.py can replace its own swap with this.)
    """
    _, old = _sidecars(db)
    faults.reached("swap.before")
    for wal in (db.with_name(db.name + ".wal"), replacement.with_name(replacement.name + ".wal")):
        if wal.exists():  # checkpointed databases have none; never pair one with other data
            raise TinyTrackerError(f"{wal} exists after checkpoint; not swapping files")
    _finish_old(db, old)
    os.link(db, old)  # keep a name on the old inode so it can be zero-filled after the swap
    faults.reached("swap.linked")
    os.replace(replacement, db)
    fsync(db.parent)
    faults.reached("swap.replaced")
    shred(old)


def copy_database(source: Path, target: Path) -> None:
    """Copy ``source`` into a new file ``target`` while holding ``source``'s lock."""
    with holding_warehouse_lock(source) as con:
        copy_into(con, target)


def rebuild(db: Path | None = None) -> Path:
    """Rewrite the warehouse into a fresh file and swap it in atomically (physical erasure).

    One connection holds the warehouse's lock from before the copy until the old file is
    zero-filled, so a row another process tries to commit meanwhile is refused (it waits and
    retries against the new file), never lost with the old one.
    """
    db = db or db_path()
    pending, _ = _sidecars(db)
    with holding_warehouse_lock(db) as con:
        cleanup_interrupted_rebuild(db)
        copy_into(con, pending)
        faults.reached("rebuild.copied")
        before_swap(db)
        swap_in_locked(db, pending)
    return db
