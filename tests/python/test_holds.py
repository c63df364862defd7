"""Legal holds: placing, listing and releasing them, and the errors a DPO can run into.

The effect of a hold on statuses and the plan is tested on a dbt build in
test_retention_build.py; here the audit trail and the refusals are pinned, through the
functions and through the `tinytracker hold` command.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli.main import main
from tinytracker.core import paths, schema, warehouse
from tinytracker.core.errors import TinyTrackerError
from tinytracker.retention import holds


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse with one organisation, a pupil, an anonymised pupil and an employee."""
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv(paths.DB_ENV, str(path))
    con = warehouse.connect()
    schema.ensure_schema(con)
    con.execute("""
        insert into raw.organisations (organisation_id, name, mis_permission)
            values ('ORG-1', 'School', 'granted');
        insert into raw.pupils (organisation_id, pupil_id, anonymised_on) values
            ('ORG-1', 'P-1', null), ('ORG-1', 'S-ANON', date '2025-09-02');
        insert into raw.employees (organisation_id, employee_id) values ('ORG-1', 'E-1');
    """)
    con.close()
    return path


@pytest.fixture()
def con(db: Path) -> duckdb.DuckDBPyConnection:
    connection = warehouse.connect()
    yield connection
    connection.close()


def test_hold_records_who_placed_it_when_and_why(con):
    hold = holds.add_hold(con, "ORG-1", "  Litigation  ", subject_kind="pupil", subject_id="P-1")
    (stored,) = holds.list_holds(con)
    assert stored == hold
    assert (stored.subject_kind, stored.subject_id, stored.reason) == (
        "pupil",
        "P-1",
        "litigation",
    )
    assert stored.placed_by == getpass.getuser()
    assert stored.is_active and stored.placed_at is not None


def test_organisation_hold_names_no_subject(con):
    hold = holds.add_hold(con, "ORG-1", "complaint", placed_by="dpo")
    assert (hold.subject_kind, hold.subject_id, hold.placed_by) == ("organisation", None, "dpo")


@pytest.mark.parametrize(
    ("organisation_id", "kind", "subject_id", "message"),
    [
        ("ORG-X", "organisation", None, "unknown organisation 'ORG-X'"),
        ("ORG-1", "pupil", "P-404", "unknown pupil 'P-404'"),
        ("ORG-1", "employee", "E-404", "unknown employee 'E-404'"),
        ("ORG-1", "pupil", "S-ANON", "already anonymised"),
        ("ORG-1", "pupil", "E-1", "unknown pupil 'E-1'"),
    ],
)
def test_hold_on_an_unknown_organisation_or_subject_is_refused(
    con, organisation_id, kind, subject_id, message
):
    with pytest.raises(TinyTrackerError, match=message):
        holds.add_hold(con, organisation_id, "complaint", subject_kind=kind, subject_id=subject_id)
    assert holds.list_holds(con, include_released=True) == []


@pytest.mark.parametrize("reason", ["   ", "complaint by the Smith family, 53 Conor Gardens"])
def test_hold_without_a_reason_category_is_refused(con, reason):
    with pytest.raises(TinyTrackerError, match="Free text is refused"):
        holds.add_hold(con, "ORG-1", reason)
    assert holds.list_holds(con, include_released=True) == []


def test_hold_keeps_a_case_reference_but_never_one_shaped_like_an_identifier(con):
    hold = holds.add_hold(con, "ORG-1", "litigation", ticket="CASE-2025/117")
    assert con.execute(
        "select reason, ticket from audit.legal_holds where hold_id = ?", [hold.hold_id]
    ).fetchall() == [("litigation", "CASE-2025/117")]
    for ticket in ("B801200005001", "b8012-0000-5001", "07700900123", "0044-7700-900-123"):
        with pytest.raises(TinyTrackerError, match="UPN, an email address or a phone"):
            holds.add_hold(con, "ORG-1", "litigation", ticket=ticket)
    for ticket in ("mum@example.org", "case about Ada Lovelace"):
        with pytest.raises(TinyTrackerError, match="letters, digits"):
            holds.add_hold(con, "ORG-1", "litigation", ticket=ticket)


def test_released_hold_stays_in_the_audit_table_with_who_released_it(con):
    hold = holds.add_hold(con, "ORG-1", "complaint")
    released = holds.release_hold(con, hold.hold_id, released_by="dpo")
    assert (released.released_by, released.is_active) == ("dpo", False)
    assert holds.list_holds(con) == []
    assert holds.list_holds(con, include_released=True) == [released]


def test_releasing_an_unknown_or_already_released_hold_is_an_error(con):
    with pytest.raises(TinyTrackerError, match="no legal hold with id 'nope'"):
        holds.release_hold(con, "nope")
    hold = holds.add_hold(con, "ORG-1", "complaint")
    holds.release_hold(con, hold.hold_id)
    with pytest.raises(TinyTrackerError, match="already released"):
        holds.release_hold(con, hold.hold_id)


def test_hold_command_adds_lists_and_releases(db, capsys):
    assert (
        main(
            [
                "hold",
                "add",
                "--organisation",
                "ORG-1",
                "--employee",
                "E-1",
                "--reason",
                "litigation",
                "--by",
                "dpo",
            ]
        )
        == 0
    )
    placed = capsys.readouterr().out
    assert "placed on employee E-1 of ORG-1 by dpo" in placed
    hold_id = placed.split()[1]

    assert main(["hold", "list"]) == 0
    listing = capsys.readouterr().out
    assert hold_id in listing and "employee E-1" in listing and "litigation" in listing

    assert main(["hold", "release", hold_id, "--by", "dpo"]) == 0
    assert f"hold {hold_id} released by dpo" in capsys.readouterr().out
    assert main(["hold", "list"]) == 0
    assert "no standing legal holds" in capsys.readouterr().out
    assert main(["hold", "list", "--all"]) == 0
    assert "released" in capsys.readouterr().out


def test_hold_command_prints_one_clear_line_for_an_unknown_pupil(db, capsys):
    assert (
        main(
            ["hold", "add", "--organisation", "ORG-1", "--pupil", "P-404", "--reason", "litigation"]
        )
        == 3
    )
    err = capsys.readouterr().err
    assert err.startswith("tinytracker hold add: error: unknown pupil 'P-404'")
    assert "Traceback" not in err


def test_hold_command_refuses_pupil_and_employee_together(db, capsys):
    with pytest.raises(SystemExit):
        main(
            [
                "hold",
                "add",
                "--organisation",
                "ORG-1",
                "--pupil",
                "P-1",
                "--employee",
                "E-1",
                "--reason",
                "x",
            ]
        )
