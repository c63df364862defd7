"""The byte scan behind "no erased value remains in its bytes": it must find every value,
including one split across two read chunks and one inside another value."""

from __future__ import annotations

from pathlib import Path

from tinytracker.core import bytescan
from tinytracker.core.bytescan import values_in_files


def test_it_finds_the_values_present_and_only_those(tmp_path: Path) -> None:
    data = tmp_path / "warehouse.duckdb"
    data.write_bytes(b"\x00\x01Ada Lovelace\x00E382200619003\xffmore")
    found = values_in_files([data, tmp_path / "missing.wal"], ["Ada", "Lovelace", "Babbage", ""])
    assert found == {"Ada", "Lovelace"}


def test_a_value_split_across_two_chunks_is_found(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bytescan, "CHUNK_BYTES", 8)
    data = tmp_path / "warehouse.duckdb"
    data.write_bytes(b"xxxxxxLovelacexxxxxxxx")  # "Lovelace" spans the first chunk boundary
    assert values_in_files([data], ["Lovelace"]) == {"Lovelace"}


def test_a_value_inside_another_is_found_as_well(tmp_path: Path) -> None:
    data = tmp_path / "warehouse.duckdb"
    data.write_bytes(b"...Annabel...")
    assert values_in_files([data], ["Annabel", "Anna", "Bel"]) == {"Annabel", "Anna"}


def test_values_in_a_second_file_count(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(b"nothing here")
    second.write_bytes(b"in the wal: Grace")
    assert values_in_files([first, second], ["Grace", "Hopper"]) == {"Grace"}
