"""Physical erasure by rebuild, snapshots and backup pruning (orchestration/storage.py)."""

import os
import secrets
from datetime import date

import duckdb
import pytest

from orchestration import storage


@pytest.fixture
def warehouse_with_erased_values(tmp_path):
    """A small warehouse where some values were updated away or deleted, then checkpointed."""
    db = tmp_path / "wh.duckdb"
    names = [f"Name{secrets.token_hex(10)}" for _ in range(40)]
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    con.execute("create table raw.pupils (pupil_id integer, forename varchar)")
    con.executemany("insert into raw.pupils values (?, ?)", list(enumerate(names)))
    con.execute("create view raw.named as select * from raw.pupils where forename is not null")
    con.execute("checkpoint")
    con.execute("update raw.pupils set forename = null where pupil_id in (3, 4)")
    con.execute("delete from raw.pupils where pupil_id = 5")
    con.execute("checkpoint")
    con.close()
    erased = [names[3], names[4], names[5]]
    kept = [name for i, name in enumerate(names) if i not in (3, 4, 5)]
    return db, erased, kept


def test_checkpoint_alone_leaves_erased_values_in_the_file(warehouse_with_erased_values):
    db, erased, _ = warehouse_with_erased_values
    data = db.read_bytes()
    assert any(value.encode() in data for value in erased)


def test_rebuild_leaves_no_erased_value_in_the_file(warehouse_with_erased_values):
    db, erased, kept = warehouse_with_erased_values
    storage.rebuild(db)
    data = db.read_bytes()
    assert not [value for value in erased if value.encode() in data]
    assert not db.with_name(db.name + ".wal").exists()
    con = duckdb.connect(str(db), read_only=True)
    assert sorted(r[0] for r in con.sql("select forename from raw.named").fetchall()) == sorted(kept)
    assert con.execute("select count(*) from raw.pupils").fetchone()[0] == 39


def test_rebuild_killed_before_the_swap_leaves_the_old_warehouse(warehouse_with_erased_values,
                                                                 monkeypatch):
    db, _, _ = warehouse_with_erased_values
    before = db.read_bytes()

    def crash(*_args):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(storage.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        storage.rebuild(db)
    assert db.read_bytes() == before
    monkeypatch.undo()
    storage.cleanup_interrupted_rebuild(db)
    leftovers = [p.name for p in db.parent.iterdir() if p.name != db.name]
    assert leftovers == []


def test_snapshot_is_named_by_date_and_prune_keeps_90_days(tmp_path, warehouse_with_erased_values):
    db, _, _ = warehouse_with_erased_values
    backups = tmp_path / "backups"
    for day in (date(2025, 1, 1), date(2025, 3, 1), date(2025, 4, 2)):
        storage.snapshot(day, db=db, directory=backups)
    assert [b.taken_on for b in storage.list_backups(backups)] == [
        date(2025, 1, 1), date(2025, 3, 1), date(2025, 4, 2)]
    pruned = storage.prune(date(2025, 4, 2), directory=backups)
    assert [b.taken_on for b in pruned] == [date(2025, 1, 1)]
    assert [b.taken_on for b in storage.list_backups(backups)] == [date(2025, 3, 1), date(2025, 4, 2)]
    con = duckdb.connect(str(backups / "tinytracker-2025-03-01.duckdb"), read_only=True)
    assert con.execute("select count(*) from raw.pupils").fetchone()[0] == 39
