"""Helpers shared by the Subject Access Request tests (test_rights_sar*.py): the CLI call, a
pupil with rows in every table, and every string in a bundle.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tinytracker.cli.main import main

from conftest import read


def pupil_with_rows_everywhere(db: Path) -> tuple[str, str]:
    """(organisation, pupil) of a living pupil with contacts, marks, results, SEN, reports,
    correspondence about them and about a contact, and a setup-import row."""
    rows = read(
        db,
        """
        with p as (select * from raw.pupils where anonymised_on is null),
        imports as (
            select distinct i.organisation_id, p.pupil_id from raw.setup_imports as i
            inner join p on i.organisation_id = p.organisation_id
                and json_extract_string(i.payload, '$.upn') = p.upn
        ),
        about_pupil as (select organisation_id, subject_id as pupil_id from raw.correspondence
                        where subject_kind = 'pupil'),
        about_contact as (
            select c.organisation_id, c.pupil_id from raw.correspondence as m
            inner join raw.pupil_contacts as c on m.organisation_id = c.organisation_id
                and m.subject_kind = 'contact' and m.subject_id = c.contact_id
        )
        select organisation_id, pupil_id from p
        semi join imports using (organisation_id, pupil_id)
        semi join about_pupil using (organisation_id, pupil_id)
        semi join about_contact using (organisation_id, pupil_id)
        semi join raw.sen_records using (organisation_id, pupil_id)
        semi join raw.reports using (organisation_id, pupil_id)
        semi join raw.assessments using (organisation_id, pupil_id)
        semi join raw.attendance_sessions using (organisation_id, pupil_id)
        order by organisation_id, pupil_id limit 1
    """,
    )
    assert rows, "the synthetic trust should have a pupil with rows in every table"
    return rows[0]


def run_sar(*args: str) -> int:
    return main(["sar", *args])


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value.strip()
