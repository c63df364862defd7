"""Restore replay: everyone on the suppression list erased again in a restored backup.

A backup still holds people that later runs or requests erased. After a restore the engine
finds every restored subject whose keyed token is on the list (the list holds no link to
anyone's kept rows) and erases it again through the same mapping and statements as a
scheduled run, with a fresh random surrogate (the list keeps the old one only for an author
whose name is kept, and then it is reused, so the loader's re-keying of their reports still
lines up). Setup-import and quarantined rows an erasure request deleted on their own are found
by their row tokens and deleted again. The replay is logged as a run of its own
(``requested_by = 'restore_replay'``): it erases nobody new.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from tinytracker.core.secret import bind_secret, subject_token_sql
from tinytracker.core.warehouse import scalar
from tinytracker.erasure import suppression
from tinytracker.erasure.result import RunResult, StepResult
from tinytracker.erasure.steps import steps_from_subjects
from tinytracker.erasure.transaction import apply_in_transaction

REPLAY_REQUESTED_BY = "restore_replay"

# Where each kind of erased subject can reappear in restored data.
SUBJECT_SOURCES = {
    "pupil": ("raw.pupils", "pupil_id", "anonymised_on is null"),
    "employee": ("raw.employees", "employee_id", "anonymised_on is null"),
    "pupil_contact": ("raw.pupil_contacts", "contact_id", "true"),
    "correspondence": ("raw.correspondence", "correspondence_id", "true"),
    "setup_import": ("raw.setup_imports", "import_id", "true"),
}


def _found_again(con: duckdb.DuckDBPyConnection) -> None:
    """``run_subjects``: restored subjects whose token is on the suppression list.

    Matched by token alone. The surrogate is the listed one where the list keeps one (a
    deleted subject's random id, or a kept-name author's kept id), else a fresh random one.
    """
    selects = []
    for kind, (table, key, live) in SUBJECT_SOURCES.items():
        token = subject_token_sql(f"'{kind}'", "found.organisation_id", f"found.{key}")
        selects.append(
            f"""
            select found.organisation_id, '{kind}' as subject_kind,
                found.{key} as subject_id, suppressed.rule_id, suppressed.surrogate_id,
                suppressed.actioned_on, suppressed.subject_token
            from {table} as found
            inner join audit.erasure_suppressions as suppressed
                on suppressed.subject_kind = '{kind}'
                and suppressed.organisation_id = found.organisation_id
                and suppressed.subject_token = {token}
            where {live}
            """
        )
    con.execute(
        "create or replace temp table run_subjects as "
        "select organisation_id, subject_kind, subject_id, rule_id, "
        "coalesce(surrogate_id, cast(gen_random_uuid() as varchar)) as surrogate_id, "
        "subject_token "
        f"from ({' union all '.join(selects)}) "
        "qualify row_number() over (partition by organisation_id, subject_kind, subject_id "
        "order by actioned_on, rule_id) = 1"
    )


def _replay_rows(
    con: duckdb.DuckDBPyConnection, table: str, key: str, kinds: tuple[str, ...]
) -> list[StepResult]:
    """Delete rows of ``table`` whose row token (``key``, SQL) is on the list under one of
    ``kinds``: the setup-import and quarantined rows an erasure request deleted on their own.
    One statement; one step per rule that had deleted them."""
    selects = []
    for kind in kinds:
        token = subject_token_sql(f"'{kind}'", "organisation_id", key)
        selects.append(
            f"select {token} as subject_token, '{kind}' as subject_kind, "
            f"rowid as row_id from {table}"
        )
    tokens = " union all ".join(selects)
    con.execute(
        f"""
        create or replace temp table replay_rows as
        select distinct found.row_id, listed.rule_id
        from ({tokens}) as found
        inner join audit.erasure_suppressions as listed
            on listed.subject_kind = found.subject_kind
            and listed.subject_token = found.subject_token
        """
    )
    counts = con.execute(
        "select rule_id, count(distinct row_id) from replay_rows group by 1 order by 1"
    ).fetchall()
    con.execute(f"delete from {table} where rowid in (select row_id from replay_rows)")
    return [StepResult(rule_id, table, "delete", int(rows), int(rows)) for rule_id, rows in counts]


def _record_kept_authors(con: duckdb.DuckDBPyConnection) -> int:
    """After the replay: a re-erased author whose name was kept again gets their new
    surrogate on the list, so later reports by them are re-keyed to it."""
    return int(
        scalar(
            con,
            """
        update audit.erasure_suppressions as listed
        set surrogate_id = run_subjects.surrogate_id
        from run_subjects
        where listed.subject_kind = 'employee' and run_subjects.subject_kind = 'employee'
            and listed.organisation_id = run_subjects.organisation_id
            and listed.subject_token = run_subjects.subject_token
            and listed.surrogate_id is distinct from run_subjects.surrogate_id
            and exists (
                select 1 from raw.employees as kept
                where kept.organisation_id = run_subjects.organisation_id
                    and kept.employee_id = run_subjects.surrogate_id
                    and (kept.forename is not null or kept.surname is not null)
            )
        """,
        )
    )


def replay_erasures(con: duckdb.DuckDBPyConnection, result: RunResult, as_of: dt.date) -> None:
    """Erase again, in one transaction on ``con``'s default catalog (the restored copy),
    everyone and every row on the suppression list; ``result`` gets the steps."""
    suppression.unlink_anonymised(con)  # rows carried over from an older ledger
    bind_secret(con)

    def prepare() -> None:
        _found_again(con)
        steps_from_subjects(con, as_of)
        result.steps += _replay_rows(
            con,
            "raw.setup_imports",
            suppression.setup_row_key("import_id", "row_number"),
            ("setup_import",),
        )
        result.steps += _replay_rows(
            con,
            "raw.quarantine",
            suppression.quarantine_row_key("load_id", "file_name", "line_number"),
            suppression.PERSON_KINDS,
        )

    apply_in_transaction(
        con, result, prepare, requested_by=REPLAY_REQUESTED_BY, record_suppressions=False
    )
    _record_kept_authors(con)
