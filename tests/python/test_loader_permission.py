"""The organisation's instructions at load time: a revoked MIS permission stores nothing (exit
code 3) and stays revoked whatever a later extract says, and an extract never clears or
postpones an early-anonymisation request.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli import main as cli
from tinytracker.core import schema
from tinytracker.loading import load_extract

from extract_builder import ExtractBuilder, counts, db, extract, query, raw_tables  # noqa: F401 - fixtures


def two_schools(
    builder: ExtractBuilder, org2_permission: str = "granted", files: tuple[str, ...] | None = None
) -> None:
    builder.school("ORG1", pupils=2, files=files)
    builder.school(
        "ORG2", pupils=2, files=files, name="Elm Academy", mis_permission=org2_permission
    )


def test_an_organisation_revoked_in_the_extract_gets_nothing_stored_and_exit_code_4(
    db: Path, extract: ExtractBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    two_schools(extract, "revoked")
    extract.add("attendance_sessions", organisation_id="ORG2", session_date="2024-13-01")
    code = cli.main(["load", str(extract.write())])

    captured = capsys.readouterr()
    assert code == 4  # partial: the rest was loaded
    assert "ORG2" in captured.err and "Elm Academy" in captured.err
    assert "ORG2  Elm Academy" in captured.out
    for table, rows in raw_tables(db).items():
        assert rows, f"ORG1 rows were loaded into {table}"
        if table != "raw.organisations":
            assert all("ORG2" not in repr(row) for row in rows), table
    # only the revocation itself is recorded, so later extracts are refused too
    assert query(
        db,
        "select name, mis_permission, contract_start, trust_id "
        "from raw.organisations where organisation_id = 'ORG2'",
    ) == [("Elm Academy", "revoked", None, None)]
    assert query(db, "select count(*) from raw.quarantine") == [(0,)]
    refused = dict(query(db, "select file_name, rows_refused from raw.load_log"))
    assert refused["attendance_sessions.csv"] == 2
    assert refused["organisations.csv"] == 1


def test_a_later_extract_without_organisations_is_still_refused_for_a_revoked_newcomer(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    two_schools(extract, "revoked")
    load_extract(extract.write())
    later = ExtractBuilder(tmp_path / "later")
    later.add("pupils", organisation_id="ORG2", pupil_id="P7", upn="A950000178301")
    result = load_extract(later.write())
    assert result.refused and counts(result, "pupils") == (1, 0, 0, 0, 0, 1, 0)
    assert query(db, "select count(*) from raw.quarantine") == [(0,)]


def test_an_organisation_revoked_in_the_warehouse_stays_refused_when_the_extract_grants(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    with duckdb.connect(str(db)) as con:
        schema.ensure_schema(con)
        con.execute(
            "insert into raw.organisations (organisation_id, name, mis_permission) "
            "values ('ORG2', 'Elm Academy', 'revoked')"
        )
    granting = ExtractBuilder(tmp_path / "granting")
    two_schools(granting, "granted", files=("attendance_sessions",))
    result = load_extract(granting.write())

    assert [(o.organisation_id, o.name) for o in result.refused_organisations] == [
        ("ORG2", "Elm Academy")
    ]
    assert result.file("pupils").refused == 2
    assert query(
        db, "select mis_permission from raw.organisations where organisation_id = 'ORG2'"
    ) == [("revoked",)]
    assert query(db, "select count(*) from raw.pupils where organisation_id = 'ORG2'") == [(0,)]
    assert query(db, "select count(*) from raw.pupils where organisation_id = 'ORG1'") == [(2,)]


def test_an_extract_revoking_a_loaded_organisation_records_only_the_revocation(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    two_schools(extract, "granted", files=("attendance_sessions",))
    load_extract(extract.write())
    pupils_before = query(db, "select * from raw.pupils where organisation_id = 'ORG2'")

    revoking = ExtractBuilder(tmp_path / "revoking")
    two_schools(revoking, "revoked", files=("attendance_sessions",))
    revoking.rows["organisations"][1]["name"] = "Elm Academy (renamed)"
    revoking.rows["pupils"][2]["surname"] = "Changed"  # an ORG2 pupil
    result = load_extract(revoking.write())

    assert result.revocations_recorded == ["ORG2"]
    assert [o.organisation_id for o in result.refused_organisations] == ["ORG2"]
    assert query(
        db,
        "select name, mis_permission, _load_id from raw.organisations "
        "where organisation_id = 'ORG2'",
    ) == [("Elm Academy", "revoked", result.load_id)]
    assert query(db, "select * from raw.pupils where organisation_id = 'ORG2'") == pupils_before


def test_a_revoked_organisations_broken_lines_are_not_quarantined(
    db: Path, extract: ExtractBuilder
) -> None:
    two_schools(extract, "revoked", files=())
    extract.write()
    text = extract.csv_text("pupils") + "ORG2,P7,B801200005001,Ann\nORG1,P8,,Bob\n"
    extract.write_raw("pupils.csv", text)
    result = load_extract(extract.folder)

    assert query(db, "select organisation_id, line_number, rule from raw.quarantine") == [
        ("ORG1", 7, "malformed_row")
    ]
    assert result.file("pupils").refused == 3


def test_an_extract_never_clears_or_postpones_an_anonymisation_request(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.school(pupils=1, files=(), anonymise_requested_on="2025-09-01")
    load_extract(extract.write())

    for n, (incoming, kept) in enumerate(
        [("", "2025-09-01"), ("2025-12-01", "2025-09-01"), ("2025-08-15", "2025-08-15")]
    ):
        newer = ExtractBuilder(tmp_path / f"newer{n}")
        newer.add("organisations", anonymise_requested_on=incoming)
        load_extract(newer.write())
        assert query(db, "select anonymise_requested_on from raw.organisations") == [
            (dt.date.fromisoformat(kept),)
        ], f"extract with {incoming!r}"
