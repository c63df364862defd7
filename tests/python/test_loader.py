"""Loader behaviour: idempotent upserts, the load log, MIS permission, erasure suppression."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli import main as cli
from tinytracker.core import schema, secret, warehouse
from tinytracker.core.contract import LANDING_FILES
from tinytracker.loading import LoadResult, load_extract
from tinytracker.loading import upsert as upsert_module
from tinytracker.loading.policy import SUPPRESSION_SUBJECTS, check_subject_columns

from extract_builder import ExtractBuilder, db, extract, query, snapshot  # noqa: F401 - fixtures

SECRET = "0123456789abcdef-test-secret"
RAW_TABLES = [f"raw.{f.name}" for f in LANDING_FILES]


def raw_tables(db_path: Path) -> dict[str, list[tuple]]:
    """Every landing table's rows (the load bookkeeping tables excluded)."""
    return {name: rows for name, rows in snapshot(db_path).items() if name in RAW_TABLES}


def counts(result: LoadResult, file: str) -> tuple[int, ...]:
    """(read, inserted, updated, unchanged, quarantined, refused, suppressed) of one file."""
    f = result.file(file)
    return (f.read, f.inserted, f.updated, f.unchanged, f.quarantined, f.refused, f.suppressed)


def test_reload_of_same_extract_changes_nothing(db: Path, extract: ExtractBuilder) -> None:
    extract.school(pupils=3)
    extract.add("attendance_sessions", pupil_id="P9")  # quarantined both times
    folder = extract.write()
    first = load_extract(folder)
    before = raw_tables(db)

    second = load_extract(folder)

    assert raw_tables(db) == before
    assert second.total("inserted") == second.total("updated") == 0
    assert second.total("unchanged") == first.total("inserted") > 0
    assert counts(second, "pupils") == (3, 0, 0, 3, 0, 0, 0)
    assert counts(second, "attendance_sessions") == (2, 0, 0, 1, 1, 0, 0)
    loads = query(db, "select distinct _load_id from raw.pupils")
    assert loads == [(first.load_id,)]


def test_newer_extract_updates_changed_rows_and_keeps_absent_ones(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.school(pupils=3)
    first = load_extract(extract.write())

    newer = ExtractBuilder(tmp_path / "newer")
    newer.add("pupils", pupil_id="P1", upn="B801200005001", surname="Byron")  # changed
    newer.add("pupils", pupil_id="P2", upn="H801200001001")  # unchanged
    newer.add("pupils", pupil_id="P4", upn="A950000178301")  # new
    second = load_extract(newer.write())

    assert second.file("pupils").inserted == 1
    rows = dict(query(db, "select pupil_id, surname from raw.pupils"))
    assert rows == {"P1": "Byron", "P2": "Lovelace", "P3": "Lovelace", "P4": "Lovelace"}
    load_ids = dict(query(db, "select pupil_id, _load_id from raw.pupils"))
    assert load_ids["P1"] == load_ids["P4"] == second.load_id
    assert load_ids["P3"] == first.load_id  # absent from the newer extract: kept as it was
    assert query(db, "select count(*) from raw.attendance_sessions")[0][0] == 1


def test_update_counts_split_inserted_updated_unchanged(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.school(pupils=3, files=())
    load_extract(extract.write())
    newer = ExtractBuilder(tmp_path / "newer")
    newer.school(pupils=4, files=())
    newer.rows["pupils"][0]["forename"] = "Augusta"
    result = load_extract(newer.write())
    assert counts(result, "pupils") == (4, 1, 1, 2, 0, 0, 0)


def test_a_load_never_overwrites_the_anonymisation_columns(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.school(pupils=2, files=("employees",))
    load_extract(extract.write())
    with duckdb.connect(str(db)) as con:
        con.execute(
            "update raw.pupils set anonymised_on = date '2025-09-01', "
            "anonymised_by_rule_id = 'left_pupils_2_academic_years' where pupil_id = 'P2'"
        )
        con.execute("update raw.employees set anonymised_on = date '2025-09-01' ")

    newer = ExtractBuilder(tmp_path / "newer")
    newer.school(pupils=2, files=("employees",))
    newer.rows["pupils"][1]["surname"] = "Changed"
    newer.rows["employees"][0]["surname"] = "Changed"
    load_extract(newer.write())

    assert query(
        db,
        "select surname, anonymised_on, anonymised_by_rule_id from raw.pupils "
        "where pupil_id = 'P2'",
    ) == [("Changed", dt.date(2025, 9, 1), "left_pupils_2_academic_years")]
    assert query(db, "select count(*) from raw.employees where anonymised_on is null") == [(0,)]


def test_large_files_merge_in_organisation_batches_with_the_same_result(
    db: Path, extract: ExtractBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert_module, "MERGE_BATCH_ROWS", 1)  # every organisation a batch
    extract.school("ORG1", pupils=3, files=())
    extract.school("ORG2", pupils=2, files=())
    extract.school("ORG3", pupils=1, files=())
    first = load_extract(extract.write())
    newer = ExtractBuilder(tmp_path / "newer")
    newer.school("ORG1", pupils=4, files=())
    newer.school("ORG2", pupils=2, files=())
    newer.rows["pupils"][5]["surname"] = "Changed"  # ORG2's P2
    second = load_extract(newer.write())

    assert counts(first, "pupils") == (6, 6, 0, 0, 0, 0, 0)
    assert counts(second, "pupils") == (6, 1, 1, 4, 0, 0, 0)
    assert query(
        db, "select organisation_id, pupil_id from raw.pupils where surname = 'Changed'"
    ) == [("ORG2", "P2")]
    assert query(db, "select count(*) from raw.pupils") == [(7,)]


def test_load_log_has_one_row_per_file_with_checksum_and_counts(
    db: Path, extract: ExtractBuilder
) -> None:
    extract.school(pupils=2)
    extract.add("pupils", pupil_id="P9", gender="X")
    folder = extract.write()
    result = load_extract(folder)

    rows = query(
        db,
        "select load_id, extract_path, file_name, file_checksum, rows_read, "
        "rows_inserted, rows_updated, rows_unchanged, rows_quarantined, "
        "rows_refused, rows_suppressed, status from raw.load_log "
        "order by file_name",
    )
    assert len(rows) == len(LANDING_FILES)
    pupils = next(r for r in rows if r[2] == "pupils.csv")
    digest = hashlib.sha256((folder / "pupils.csv").read_bytes()).hexdigest()
    assert pupils == (
        result.load_id,
        str(folder.resolve()),
        "pupils.csv",
        digest,
        3,
        2,
        0,
        0,
        1,
        0,
        0,
        "partially_loaded",
    )
    assert {r[11] for r in rows if r[2] != "pupils.csv"} == {"loaded"}


def test_a_reload_of_the_same_files_adds_no_quarantine_rows(
    db: Path, extract: ExtractBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    extract.school(pupils=3)
    extract.add("attendance_sessions", pupil_id="P9")  # orphan
    extract.write()
    extract.write_raw("pupils.csv", extract.csv_text("pupils") + "ORG1,P4,B80120000")  # cut short
    first = load_extract(extract.folder)
    quarantined = query(db, "select * from raw.quarantine order by file_name, line_number")
    assert [(r[1], r[3], r[0]) for r in quarantined] == [
        ("attendance_sessions.csv", "orphan_pupil", first.load_id),
        ("pupils.csv", "malformed_row", first.load_id),
    ]

    assert cli.main(["load", str(extract.folder)]) == 0

    assert query(db, "select * from raw.quarantine order by file_name, line_number") == quarantined
    out = capsys.readouterr().out
    assert "2 row(s) quarantined (not loaded):" in out
    assert "2 of them were already in raw.quarantine from an earlier load" in out
    assert f"where load_id = '{first.load_id}' order by" in out
    # the load log still counts them as quarantined in the second load
    assert query(
        db,
        "select file_name, rows_quarantined from raw.load_log "
        "where rows_quarantined > 0 and load_id <> ? order by 1",
        [first.load_id],
    ) == [("attendance_sessions.csv", 1), ("pupils.csv", 1)]


def test_a_changed_file_quarantines_its_bad_rows_under_the_new_load(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.school(pupils=3, files=("attendance_sessions",))
    extract.add("attendance_sessions", pupil_id="P9")
    first = load_extract(extract.write())
    newer = ExtractBuilder(tmp_path / "newer")
    newer.school(pupils=3, files=("attendance_sessions",))
    newer.add("attendance_sessions", pupil_id="P9")
    newer.add("attendance_sessions", pupil_id="P2")  # the file's bytes differ
    second = load_extract(newer.write())

    assert second.file("attendance_sessions").already_quarantined == 0
    assert sorted(query(db, "select load_id, line_number, rule from raw.quarantine")) == sorted(
        [(first.load_id, 3, "orphan_pupil"), (second.load_id, 3, "orphan_pupil")]
    )


def test_the_cli_prints_a_table_a_total_and_how_to_see_the_quarantine(
    db: Path, extract: ExtractBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    extract.school(pupils=2)
    extract.add("attendance_sessions", mark="??", pupil_id="P2")
    code = cli.main(["load", str(extract.write())])

    out = capsys.readouterr().out
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("file"))
    assert header.split() == [
        "file",
        "read",
        "inserted",
        "updated",
        "unchanged",
        "quarantined",
        "refused",
        "suppressed",
    ]
    table = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert table["attendance_sessions.csv"] == ["2", "1", "0", "0", "1", "0", "0"]
    assert table["total"] == ["12", "11", "0", "0", "1", "0", "0"]
    load_id = query(db, "select distinct load_id from raw.quarantine")[0][0]
    assert f"select * from raw.quarantine where load_id = '{load_id}'" in out


def test_load_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["load", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "DIR" in out and "quarantine" in out and "transaction" in out
    assert "truncated last line" in out and "malformed_row" in out
    assert "<name>.csv.gz" in out and "unknown file" in out


def test_parquet_files_load_like_csv(db: Path, extract: ExtractBuilder) -> None:
    extract.school(pupils=2, files=("attendance_sessions",))
    extract.add("attendance_sessions", pupil_id="P2", mark="ZZ")
    folder = extract.write()
    csv_path = folder / "attendance_sessions.csv"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_csv('{csv_path}', all_varchar = true)) "
            f"to '{folder / 'attendance_sessions.parquet'}' (format parquet)"
        )
    csv_path.unlink()
    result = load_extract(folder)

    assert result.file("attendance_sessions").file_name == "attendance_sessions.parquet"
    assert counts(result, "attendance_sessions") == (2, 1, 0, 0, 1, 0, 0)
    assert query(db, "select file_name, line_number, rule from raw.quarantine") == [
        ("attendance_sessions.parquet", 2, "unknown_code")
    ]


def test_typed_parquet_columns_are_read_as_their_text(db: Path, extract: ExtractBuilder) -> None:
    folder = extract.folder
    folder.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'ORG1' as organisation_id, 'Oak' as name, 'school' as "
            "organisation_type, null as trust_id, date '2020-09-01' as contract_start, "
            "null::date as contract_end, null::date as anonymise_requested_on, "
            "'granted' as mis_permission, true as share_with_trust, 7 as house_points) "
            f"to '{folder / 'organisations.parquet'}' (format parquet)"
        )
    load_extract(folder)
    assert query(
        db,
        "select contract_start, share_with_trust, _extra->>'house_points' from raw.organisations",
    ) == [(dt.date(2020, 9, 1), True, "7")]


# --- MIS permission -----------------------------------------------------------------------


def two_schools(
    builder: ExtractBuilder, org2_permission: str = "granted", files: tuple[str, ...] | None = None
) -> None:
    builder.school("ORG1", pupils=2, files=files)
    builder.school(
        "ORG2", pupils=2, files=files, name="Elm Academy", mis_permission=org2_permission
    )


def test_an_organisation_revoked_in_the_extract_gets_nothing_stored_and_exit_code_3(
    db: Path, extract: ExtractBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    two_schools(extract, "revoked")
    extract.add("attendance_sessions", organisation_id="ORG2", session_date="2024-13-01")
    code = cli.main(["load", str(extract.write())])

    captured = capsys.readouterr()
    assert code == 3
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


# --- erasure suppression ------------------------------------------------------------------


def suppress(db_path: Path, kind: str, org: str, subject_id: str) -> None:
    with duckdb.connect(str(db_path)) as con:
        schema.ensure_schema(con)
        secret.bind_secret(con)
        token = secret.subject_token_sql("?", "?", "?")
        con.execute(
            "insert into audit.erasure_suppressions (subject_kind, organisation_id, "
            "subject_token, surrogate_id, rule_id, actioned_on, run_id) "
            f"select ?, ?, {token}, 'S1', 'left_pupils_2_academic_years', "
            "date '2025-09-01', 'run-1'",
            [kind, org, kind, org, subject_id],
        )


def test_a_reload_does_not_resurrect_erased_subjects(
    db: Path, extract: ExtractBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(secret.SECRET_ENV, SECRET)
    extract.school(pupils=2)
    extract.add("pupil_contacts", contact_id="C2", pupil_id="P2")
    extract.add("pupil_contacts", contact_id="C3", pupil_id="P2")
    extract.add("attendance_sessions", pupil_id="P2", session_date="2024-13-01")  # bad too
    folder = extract.write()
    suppress(db, "pupil", "ORG1", "P1")
    suppress(db, "pupil_contact", "ORG1", "C3")
    suppress(db, "employee", "ORG1", "E1")
    suppress(db, "correspondence", "ORG1", "M1")
    suppress(db, "setup_import", "ORG1", "I1")
    suppress(db, "pupil", "ORG2", "P2")  # another organisation's P2: not ours

    result = load_extract(folder)

    assert query(db, "select pupil_id from raw.pupils") == [("P2",)]
    assert query(db, "select contact_id from raw.pupil_contacts") == [("C2",)]
    for table in (
        "attendance_sessions",
        "assessments",
        "sen_records",
        "reports",
        "employees",
        "correspondence",
        "setup_imports",
    ):
        assert query(db, f"select count(*) from raw.{table}") == [(0,)], table
    assert counts(result, "pupils") == (2, 1, 0, 0, 0, 0, 1)
    assert counts(result, "pupil_contacts") == (3, 1, 0, 0, 0, 0, 2)
    assert counts(result, "attendance_sessions") == (2, 0, 0, 0, 1, 0, 1)
    assert [r[0] for r in query(db, "select raw_values->>'pupil_id' from raw.quarantine")] == ["P2"]


def test_suppression_needs_no_secret_while_nothing_is_suppressed(
    db: Path, extract: ExtractBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(secret.SECRET_ENV, raising=False)
    extract.school()
    result = load_extract(extract.write())
    assert result.total("suppressed") == 0


def test_a_load_with_suppressions_and_no_secret_fails_and_changes_nothing(
    db: Path, extract: ExtractBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(secret.SECRET_ENV, SECRET)
    suppress(db, "pupil", "ORG1", "P1")
    monkeypatch.delenv(secret.SECRET_ENV)
    extract.school()
    before = snapshot(db)
    with pytest.raises(warehouse.TinyTrackerError, match=secret.SECRET_ENV):
        load_extract(extract.write())
    assert snapshot(db) == before


def test_every_suppressed_subject_column_is_a_contract_column() -> None:
    check_subject_columns()
    assert set(SUPPRESSION_SUBJECTS) == {f.name for f in LANDING_FILES}


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


def suppress_identifier(
    db_path: Path, kind: str, org: str, subject_id: str, identifier: str
) -> None:
    """A keyed token of one more identifier of an erased subject (audit.erasure_identifiers)."""
    with duckdb.connect(str(db_path)) as con:
        secret.bind_secret(con)
        token = secret.subject_token_sql("?", "?", "?")
        con.execute(
            f"insert into audit.erasure_identifiers select ?, ?, {token}, "
            f"split_part(?, '=', 1), {token}, 'run-1'",
            [kind, org, kind, org, subject_id, identifier, kind, org, identifier],
        )


def test_a_newer_extract_is_suppressed_by_what_it_says_about_an_erased_subject(
    db: Path, extract: ExtractBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(secret.SECRET_ENV, SECRET)
    suppress(db, "pupil", "ORG1", "P1")
    suppress(db, "pupil_contact", "ORG1", "C1")
    suppress(db, "employee", "ORG1", "E1")
    suppress_identifier(db, "pupil", "ORG1", "P1", "upn=B801200005001")
    suppress_identifier(db, "pupil", "ORG1", "P1", "name_dob=ada|lovelace|2015-05-01")
    suppress_identifier(db, "employee", "ORG1", "E1", "trn=1234567")
    extract.school(pupils=2, files=())
    for n, (kind, subject) in enumerate(
        [("pupil", "P1"), ("contact", "C1"), ("employee", "E1"), ("pupil", "P2")], start=10
    ):
        extract.add(
            "correspondence", correspondence_id=f"M{n}", subject_kind=kind, subject_id=subject
        )
    payloads = [
        {"UPN": " b801200005001"},
        {"Forename": "ADA", "Surname": "Lovelace", "DOB": "01/05/2015"},
        {"TRN": "12 34567"},
        {"upn": "A801200002001", "forename": "Bo"},
    ]  # another pupil: loads
    for n, payload in enumerate(payloads, start=1):
        extract.add("setup_imports", import_id="I2", row_number=n, payload=json.dumps(payload))
    extract.write()
    # a line the CSV reader cannot split, about the erased pupil: dropped, not quarantined
    text = extract.csv_text("correspondence") + "ORG1,M20,pupil,P1,2024-10-01,email,a,b,c\n"
    extract.write_raw("correspondence.csv", text)

    result = load_extract(extract.folder)

    assert query(db, "select correspondence_id from raw.correspondence") == [("M13",)]
    assert query(db, "select row_number from raw.setup_imports") == [(4,)]
    assert result.file("correspondence").suppressed == 4
    assert result.file("setup_imports").suppressed == 3
    assert query(db, "select count(*) from raw.quarantine") == [(0,)]
