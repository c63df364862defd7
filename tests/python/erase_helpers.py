"""Helpers shared by the erasure-request tests (test_rights_erase_*.py): the CLI call, finders
of a suitable pupil, and hand-made extract rows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb

from tinytracker.cli.main import main
from tinytracker.core.contract import FILES_BY_NAME, LANDING_FILES

from conftest import SYNTHETIC_AS_OF, read

AS_OF = SYNTHETIC_AS_OF.isoformat()
RAW_TABLES = [f"raw.{f.name}" for f in LANDING_FILES] + ["raw.quarantine"]
REASON = "controller_request"


def raw_unchanged(before: Path, after: Path) -> bool:
    con = duckdb.connect()
    try:
        con.execute("attach ? as b (read_only)", [str(before)])
        con.execute("attach ? as a (read_only)", [str(after)])
        return all(
            con.execute(
                f"select count(*) from (select * from b.{t} except all select * from a.{t})"
            ).fetchone()[0]
            == 0
            and con.execute(
                f"select count(*) from (select * from a.{t} except all select * from b.{t})"
            ).fetchone()[0]
            == 0
            for t in RAW_TABLES
        )
    finally:
        con.close()


def pupil_with_contacts_and_correspondence(db: Path) -> tuple[str, str]:
    """A living pupil of an organisation without holds, with a contact, correspondence about
    them and about the contact, and attendance."""
    return read(
        db,
        """
        select p.organisation_id, p.pupil_id from raw.pupils as p
        where p.anonymised_on is null and p.upn is not null
            and exists (select 1 from raw.correspondence as m
                        where m.organisation_id = p.organisation_id
                        and m.subject_kind = 'pupil' and m.subject_id = p.pupil_id)
            and exists (select 1 from raw.correspondence as m
                        inner join raw.pupil_contacts as c
                            on m.organisation_id = c.organisation_id
                            and m.subject_kind = 'contact' and m.subject_id = c.contact_id
                        where c.organisation_id = p.organisation_id
                            and c.pupil_id = p.pupil_id)
            and exists (select 1 from raw.attendance_sessions as a
                        where a.organisation_id = p.organisation_id
                        and a.pupil_id = p.pupil_id)
        order by all limit 1
    """,
    )[0]


def erase(*args: str) -> int:
    return main(["erase", *args])


def erase_pupil_now(org: str, pupil: str, *more: str) -> int:
    """``tinytracker erase --apply`` of one pupil at the controller's request (REASON)."""
    return erase("--organisation", org, "--pupil", pupil, "--reason", REASON, "--apply", *more)


def write_extract(folder: Path, rows: dict[str, list[dict]]) -> Path:
    """A newer extract holding only the files given (extracts may be partial)."""
    folder.mkdir(parents=True)
    for name, file_rows in rows.items():
        columns = FILES_BY_NAME[name].column_names
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns, lineterminator="\n")
            writer.writeheader()
            for row in file_rows:
                writer.writerow({c: row.get(c, "") for c in columns})
    return folder


def letter(org: str, correspondence_id: str, kind: str, subject_id: str, **values: str) -> dict:
    return {
        "organisation_id": org,
        "correspondence_id": correspondence_id,
        "subject_kind": kind,
        "subject_id": subject_id,
        "sent_on": "2025-09-20",
        "channel": "letter",
        "summary": "Newer letter",
        **values,
    }


def setup_row(
    org: str, import_id: str, row_number: int, payload: dict | str, **values: str
) -> dict:
    return {
        "organisation_id": org,
        "import_id": import_id,
        "file_name": "late.csv",
        "received_on": "2025-09-18",
        "processed_on": "2025-09-19",
        "row_number": str(row_number),
        "payload": payload if isinstance(payload, str) else json.dumps(payload),
        **values,
    }
