"""An erasure request by default: the person's rows and their derived rows now, in one
transaction; the rebuild of the marts, the analyst copy and the file rewrite queued to the
next nightly retention run, pending (and said to be) until then."""

from __future__ import annotations

from tinytracker.cli.main import main

from conftest import read
from erase_helpers import AS_OF, REASON, erase, pupil_with_contacts_and_correspondence

INTERMEDIATE_WITH_KEYS = """
    select distinct table_name from duckdb_columns()
    where schema_name = 'intermediate' and column_name = 'pupil_key'
"""


def rows_under_key(db, key: str) -> dict[str, int]:
    tables = [t for (t,) in read(db, INTERMEDIATE_WITH_KEYS)]
    return {
        t: read(db, f"select count(*) from intermediate.{t} where pupil_key = ?", [key])[0][0]
        for t in tables
    }


def test_a_request_erases_the_derived_rows_now_and_queues_the_rewrite(wh, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn = read(
        wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil]
    )[0][0]
    (key,) = read(
        wh,
        "select pupil_key from intermediate.int_pupil_keys "
        "where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    )[0]
    assert sum(rows_under_key(wh, key).values()) > 0

    assert erase(
        "pupil", "--organisation", org, "--id", pupil, "--reason", REASON, "--apply",
        "--as-of", AS_OF,
    ) == 0  # fmt: skip
    out = capsys.readouterr().out
    # said plainly: the bytes are not rewritten yet, and when they will be
    assert "NOT YET rewritten" in out and "02:00 London" in out
    assert "byte scan" not in out and "no longer in its bytes" not in out

    # the person's derived rows are gone already; the raw rows are anonymised
    assert rows_under_key(wh, key) == dict.fromkeys(rows_under_key(wh, key), 0)
    assert read(
        wh,
        "select count(*) from intermediate.int_pupil_keys "
        "where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    ) == [(0,)]
    assert read(
        wh, "select count(*) from raw.pupils where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    ) == [(0,)]  # fmt: skip
    # pending, and visible as pending
    assert read(
        wh, "select count(*) from audit.retention_runs where physically_erased_at is null "
        "and outcome = 'applied'",
    ) == [(1,)]  # fmt: skip
    assert upn.encode() in wh.read_bytes()  # honest: the old pages still hold it
    assert main(["report"]) == 0
    assert "PENDING: 1 applied run(s)" in capsys.readouterr().out

    # the nightly run finishes it: rebuild, republish, rewrite, byte scan
    assert main(["retention", "apply", "--as-of", AS_OF]) == 0
    capsys.readouterr()
    assert read(
        wh, "select count(*) from audit.retention_runs where physically_erased_at is null "
        "and outcome = 'applied'",
    ) == [(0,)]  # fmt: skip
    assert upn.encode() not in wh.read_bytes()
    # and the rebuilt derived tables hold the anonymised pupil's marks under a fresh key
    surrogate_marks = read(
        wh,
        """
        select count(*) from raw.attendance_sessions as a
        inner join raw.pupils as p using (organisation_id, pupil_id)
        where p.anonymised_by_rule_id = 'erasure_request'
        """,
    )[0][0]
    rebuilt = read(
        wh,
        """
        select count(*) from intermediate.int_attendance_sessions_classified as c
        inner join intermediate.int_pupil_keys as k using (pupil_key)
        inner join raw.pupils as p
            on p.organisation_id = k.organisation_id and p.pupil_id = k.pupil_id
        where p.anonymised_by_rule_id = 'erasure_request'
        """,
    )[0][0]
    assert surrogate_marks > 0 and rebuilt == surrogate_marks
