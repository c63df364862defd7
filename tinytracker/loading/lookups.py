"""The small lookup tables a staged file's checks join against, built once per file.

Each turns what would be a correlated lookup per row into an equi-join against a few hundred
rows (or, for repeated keys, against only the rows whose key hash repeats), so checking tens of
millions of rows stays a handful of set-based statements:

* ``tt_dups``: keys that occur more than once among the kept rows, with their lines;
* ``tt_first_<column>``: rows whose value of a column unique per organisation another subject
  already holds, with that subject;
* ``tt_mark_in_force``: for each distinct (mark, session date), whether the code is in force;
* ``tt_assess_map``: the assessment type each distinct ``assessment`` value matches.
"""

from __future__ import annotations

import duckdb

from tinytracker.core.contract import LandingFile
from tinytracker.loading.rules import (
    ASSESSMENT,
    ASSESSMENT_CODES,
    ASSESSMENT_MAX,
    ASSESSMENT_MIN,
    ASSESSMENT_PATTERN,
    ATTENDANCE,
    DUP_LINES,
    MARK_IN_FORCE,
    first_holder,
    first_holder_line,
    s,
    typed_sql,
)
from tinytracker.loading.sqltext import ident
from tinytracker.loading.stage import StagedFile


def create_dups(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    """Keys present more than once (all copies are quarantined), with their lines.

    Grouping 38 million four-part text keys needs gigabytes; grouping their 64-bit hashes needs
    a fraction of it, and only the few rows whose hash repeats are then compared exactly.
    """
    key = [s(k) for k in staged.extract_file.contract.key]
    columns = ", ".join(key)
    key_hash = f"hash({columns})"
    not_null = " and ".join(f"{k} is not null" for k in key)
    join = " and ".join(f"r.{k} = d.{k}" for k in key)
    con.execute(f"""
        create temp table tt_dups as
        with repeated_hashes as (
            select {key_hash} as h from tt_rows where {not_null}
            group by h having count(*) > 1
        ),
        candidates as (
            select {columns}, __tt_line from tt_rows
            where {not_null} and {key_hash} in (select h from repeated_hashes)
        ),
        duplicated as (
            select {columns} from candidates group by all having count(*) > 1
        )
        select {", ".join(f"r.{k}" for k in key)},
            string_agg(cast(r.__tt_line as varchar), ', ' order by r.__tt_line) as {DUP_LINES}
        from candidates as r
        join duplicated as d on {join}
        group by all
    """)


def create_first_holders(
    con: duckdb.DuckDBPyConnection, landing_file: LandingFile, column: str
) -> None:
    """``tt_first_<column>``: rows whose value another subject of the organisation holds first.

    The first holder is the warehouse's subject with that value (unless this file gives that
    subject another value now), else the subject on the earliest line of the file. Rows of the
    first holder itself (also a repeated key, which ``duplicate_key`` reports) are not listed.
    """
    org = s("organisation_id")
    ids = landing_file.key[1:]
    incoming_holder = f"concat_ws(', ', {', '.join(s(k) for k in ids)})"
    stored_holder = f"concat_ws(', ', {', '.join(f'w.{ident(k)}' for k in ids)})"
    incoming_ids = " and ".join(f"{s(k)} is not null" for k in ids)
    con.execute(f"""
        create temp table tt_first_{column} as
        with incoming as (
            select {org} as org, {s(column)} as value, {incoming_holder} as holder,
                __tt_line as line
            from tt_rows
            where {org} is not null and {s(column)} is not null and {incoming_ids}
        ),
        stored as (
            select w.organisation_id as org, w.{ident(column)} as value,
                {stored_holder} as holder, 0 as line
            from raw.{landing_file.name} as w
            where w.{ident(column)} is not null
                and not exists (
                    select 1 from incoming as i
                    where i.org = w.organisation_id and i.holder = {stored_holder}
                )
        ),
        claims as (
            select * from incoming
            union all
            select * from stored
        ),
        firsts as (
            select org, value, first(holder order by line, holder) as holder, min(line) as line
            from claims
            group by org, value
            having count(distinct holder) > 1
        )
        select
            i.line as __tt_line,
            f.holder as {first_holder(column)},
            f.line as {first_holder_line(column)}
        from incoming as i
        join firsts as f on f.org = i.org and f.value = i.value
        where i.holder <> f.holder
    """)


def create_mark_in_force(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    """Whether each distinct (known mark, valid date) of the file is a code in force then."""
    mark, day = ATTENDANCE[1], ATTENDANCE[2]
    day_column = staged.extract_file.contract.column(day)
    con.execute(f"""
        create temp table tt_mark_in_force as
        with pairs as (
            select distinct {s(mark)}, {s(day)} from tt_rows
        ),
        typed_pairs as (
            select {s(mark)} as mark, {s(day)} as day_text, {typed_sql(day_column)} as day
            from pairs
        )
        select
            p.mark as __tt_mk_mark,
            p.day_text as __tt_mk_day,
            bool_or(
                (ac.valid_from is null or ac.valid_from <= p.day)
                and (ac.valid_to is null or p.day <= ac.valid_to)
            ) as {MARK_IN_FORCE}
        from typed_pairs as p
        join tt_attendance_codes as ac on ac.code = p.mark
        where p.day is not null
        group by all
    """)


def create_assessment_map(con: duckdb.DuckDBPyConnection) -> None:
    """The first assessment type whose pattern each distinct value matches (LIKE)."""
    con.execute(f"""
        create temp table tt_assess_map as
        select
            a.value as __tt_am_value,
            p.assessment_pattern as {ASSESSMENT_PATTERN},
            p.min_score as {ASSESSMENT_MIN},
            p.max_score as {ASSESSMENT_MAX},
            p.result_codes as {ASSESSMENT_CODES}
        from (
            select distinct {s(ASSESSMENT[1])} as value from tt_rows
            where {s(ASSESSMENT[1])} is not null
        ) as a
        join tt_assessment_types as p on a.value like p.like_pattern escape '\\'
        qualify row_number() over (partition by a.value order by p.pattern_order) = 1
    """)
