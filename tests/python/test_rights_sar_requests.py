"""The Subject Access Request itself: a clear error and no file for someone the warehouse does
not hold (unknown id or organisation, anonymised record), a log without personal data due a
month after receipt, and never a bundle written into a folder that is not empty.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from conftest import read
from sar_helpers import pupil_with_rows_everywhere, run_sar


def test_sar_of_an_unknown_pupil_is_a_clear_error_and_writes_no_file(wh, tmp_path, capsys):
    org, _ = pupil_with_rows_everywhere(wh)
    out = tmp_path / "bundle"
    assert run_sar("--organisation", org, "--pupil", "P-NOBODY", "--out", str(out)) == 3
    err = capsys.readouterr().err
    assert err.startswith("tinytracker sar: error: unknown pupil 'P-NOBODY'")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert read(wh, "select request_kind, status from audit.subject_requests") == [
        ("access", "unknown_subject")
    ]


def test_sar_of_an_unknown_organisation_or_an_anonymised_record_is_refused(wh, tmp_path, capsys):
    assert run_sar("--organisation", "ORG-NONE", "--pupil", "P1", "--out", str(tmp_path / "a")) == 3
    assert "unknown organisation 'ORG-NONE'" in capsys.readouterr().err
    con = duckdb.connect(str(wh))
    org, surrogate = con.execute(
        "select organisation_id, pupil_id from raw.pupils order by all limit 1"
    ).fetchone()
    con.execute(
        "update raw.pupils set anonymised_on = date '2025-09-01' "
        "where organisation_id = ? and pupil_id = ?",
        [org, surrogate],
    )
    con.close()
    assert run_sar("--organisation", org, "--pupil", surrogate, "--out", str(tmp_path / "b")) == 3
    assert "is an anonymised record" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_sar_log_holds_no_personal_data_and_is_due_a_month_after_receipt(wh, tmp_path):
    org, pupil = pupil_with_rows_everywhere(wh)
    assert (
        run_sar(
            "--organisation",
            org,
            "--pupil",
            pupil,
            "--received",
            "2025-01-31",
            "--by",
            "dpo",
            "--out",
            str(tmp_path / "bundle"),
        )
        == 0
    )
    logged = read(wh, "select * from audit.subject_requests")
    assert len(logged) == 1
    row = dict(
        zip(
            [
                d
                for (d,) in read(
                    wh,
                    "select column_name from duckdb_columns() where "
                    "schema_name = 'audit' and table_name = "
                    "'subject_requests' order by column_index",
                )
            ],
            logged[0],
        )
    )
    assert row["request_kind"] == "access" and row["status"] == "completed"
    assert row["received_on"] == dt.date(2025, 1, 31) and row["due_on"] == dt.date(2025, 2, 28)
    assert row["handled_by"] == "dpo" and row["organisation_id"] == org
    identifiers = {
        str(v)
        for (v,) in read(
            wh,
            "select unnest([pupil_id, upn, forename, surname, cast(date_of_birth as varchar), "
            "address, postcode, email, phone]) from raw.pupils where organisation_id = ? "
            "and pupil_id = ?",
            [org, pupil],
        )
        if v is not None
    }
    assert not {str(v) for v in logged[0]} & identifiers
    bundle = json.loads((tmp_path / "bundle" / "sar.json").read_text())
    assert bundle["request_id"] == row["request_id"] and bundle["due_on"] == "2025-02-28"


def test_sar_never_writes_into_a_folder_that_is_not_empty(wh, tmp_path, capsys):
    org, pupil = pupil_with_rows_everywhere(wh)
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "keep.txt").write_text("someone else's file")
    assert run_sar("--organisation", org, "--pupil", pupil, "--out", str(out)) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert read(wh, "select count(*) from audit.subject_requests")[0][0] == 0
