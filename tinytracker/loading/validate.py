"""Decide every staged row's fate and check the kept ones, in a few set-based statements.

For one staged file this builds:

* ``tt_all`` (view): staged rows with a fate (keep, refused, suppressed);
* ``tt_dups``: keys that occur more than once among the kept rows, with their lines;
* ``tt_mark_in_force``: for each distinct (mark, session date), whether the code is in force;
* ``tt_assess_map``: the assessment type each distinct ``assessment`` value matches;
* ``tt_first_<column>``: rows whose value of a column unique per organisation (``upn``) another
  subject already holds, with that subject (the row on the earlier line, or the warehouse's);
* ``tt_typed`` (view): kept rows with typed values;
* ``tt_checked`` (view): the first rule each row breaks (null = none), all the details and the
  raw values for the quarantine;
* ``tt_broken``: the rows that break a rule (the quarantine's input, usually few);
* ``tt_clean`` (view): typed rows that break nothing, under the contract's column names.

The small helper tables (built by :mod:`tinytracker.loading.lookups`) turn what would be
correlated lookups into equi-joins against a few hundred rows, and the big intermediate
results stay views: materialising 38 million checked
rows would cost gigabytes of memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from tinytracker.core.contract import LANDING_FILES, LandingFile
from tinytracker.core.secret import subject_token_sql
from tinytracker.loading.lookups import (
    create_assessment_map,
    create_dups,
    create_first_holders,
    create_mark_in_force,
)
from tinytracker.loading.policy import (
    FATE_KEEP,
    FATE_REFUSED,
    FATE_SUPPRESSED,
    fate_sql,
    rekeyed_reference_sql,
)
from tinytracker.loading.rules import (
    ASSESSMENT,
    ASSESSMENT_CODES,
    ASSESSMENT_MAX,
    ASSESSMENT_MIN,
    ASSESSMENT_PATTERN,
    ATTENDANCE,
    DUP_LINES,
    ENROLLED_FROM,
    ENROLLED_TO,
    KNOWN_ORG,
    KNOWN_PUPIL,
    MARK_IN_FORCE,
    SURPLUS_LINES,
    first_holder,
    first_holder_line,
    reference_known,
    row_checks,
    s,
    t,
    typed_sql,
)
from tinytracker.loading.sqltext import ident, literal
from tinytracker.loading.stage import (
    StagedFile,
    naive_raw_values_sql,
    naive_value,
    raw_values_sql,
)

CHECK_OBJECTS = (
    ("view", "tt_clean"),
    ("table", "tt_broken"),
    ("view", "tt_checked"),
    ("view", "tt_typed"),
    ("view", "tt_rows"),
    ("view", "tt_all"),
    ("table", "tt_malformed_fate"),
    ("table", SURPLUS_LINES),
    ("table", "tt_dups"),
    ("table", "tt_mark_in_force"),
    ("table", "tt_assess_map"),
    *(("table", f"tt_first_{c}") for f in LANDING_FILES for c in f.unique_per_organisation),
)


@dataclass
class FileCounts:
    """Where the rows of one file went before the quarantine and the upsert."""

    read: int = 0
    refused: int = 0
    suppressed: int = 0
    kept: int = 0
    """Staged rows that go on to validation (the malformed lines are not among them)."""
    refused_by_organisation: dict[str, int] = field(default_factory=dict)


def drop_checks(con: duckdb.DuckDBPyConnection) -> None:
    for kind, name in CHECK_OBJECTS:
        con.execute(f"drop {kind} if exists {name}")


def check_file(
    con: duckdb.DuckDBPyConnection, staged: StagedFile, suppressions: bool
) -> FileCounts:
    """Define ``tt_checked`` and ``tt_malformed_fate`` for one staged file; count the fates.

    The previous file's objects must have been dropped (:func:`drop_checks`).
    """
    extract_file = staged.extract_file
    landing_file = extract_file.contract
    surplus = extract_file.scan.surplus_lines if extract_file.scan is not None else []
    con.execute(f"create or replace temp table {SURPLUS_LINES} (line bigint)")
    if surplus:
        con.execute(f"insert into {SURPLUS_LINES} select unnest(?)", [surplus])
    con.execute(
        f"create temp view tt_all as select *, {fate_sql(landing_file, s, suppressions)} "
        "as __tt_fate from tt_numbered"
    )
    con.execute(
        "create temp view tt_rows as select * exclude (__tt_fate) from tt_all "
        f"where __tt_fate = '{FATE_KEEP}'"
    )
    naive = naive_value(extract_file)
    con.execute(
        f"create temp table tt_malformed_fate as select *, "
        f"{naive('organisation_id')} as __tt_org, "
        f"{naive_raw_values_sql(extract_file)} as __tt_raw, "
        f"{fate_sql(landing_file, naive, suppressions)} as __tt_fate from tt_malformed"
    )

    counts = FileCounts(read=staged.rows_read)
    fates = con.execute(f"""
        select __tt_fate, case when __tt_fate = '{FATE_REFUSED}' then org end, staged, count(*)
        from (
            select __tt_fate, {s("organisation_id")} as org, true as staged from tt_all
            union all
            select __tt_fate, __tt_org, false from tt_malformed_fate
        )
        group by all
    """).fetchall()
    for fate, org, is_staged, n in fates:
        if fate == FATE_REFUSED:
            counts.refused += n
            counts.refused_by_organisation[org] = counts.refused_by_organisation.get(org, 0) + n
        elif fate == FATE_SUPPRESSED:
            counts.suppressed += n
        elif is_staged:
            counts.kept += n

    create_dups(con, staged)
    for column in landing_file.unique_per_organisation:
        create_first_holders(con, landing_file, column)
    if landing_file.name == ATTENDANCE[0]:
        create_mark_in_force(con, staged)
    if landing_file.name == ASSESSMENT[0]:
        create_assessment_map(con)
    create_checked(con, staged, suppressions)
    return counts


def _outputs(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> str:
    """Contract columns typed, under their contract names, then ``_extra``.

    A reference to an erased subject is replaced by that subject's surrogate.
    """
    extract_file = staged.extract_file
    landing_file = extract_file.contract
    outputs = []
    for column in landing_file.columns:
        value = t(column.name) if column.type != "text" else s(column.name)
        value = rekeyed_reference_sql(con, landing_file, column.name, value, s("organisation_id"))
        outputs.append(f"{value} as {ident(column.name)}")
    extras = extract_file.extra_columns
    extra_json = (
        "json_object(" + ", ".join(f"{literal(c)}, {ident(c)}" for c in extras) + ")"
        if extras
        else "null::json"
    )
    return ", ".join([*outputs, f"{extra_json} as _extra"])


def create_checked(
    con: duckdb.DuckDBPyConnection, staged: StagedFile, suppressions: bool = False
) -> None:
    """Views ``tt_typed``, ``tt_checked`` and ``tt_clean``; table ``tt_broken``.

    ``tt_broken`` holds only the rows that break a rule (few), so the upsert reads the clean
    rows as ``tt_typed`` minus ``tt_broken`` without evaluating the joins and rules again.
    """
    extract_file = staged.extract_file
    landing_file = extract_file.contract
    typed = [f"{typed_sql(c)} as {t(c.name)}" for c in landing_file.columns if c.type != "text"]
    con.execute(
        f"create temp view tt_typed as select *{''.join(', ' + x for x in typed)} from tt_rows"
    )
    con.execute(checked_sql(staged, suppressions))
    con.execute(
        "create temp table tt_broken as select __tt_line, __tt_rule, __tt_detail, __tt_raw, "
        "__tt_org from tt_checked where __tt_rule is not null"
    )
    con.execute(
        f"create temp view tt_clean as select {_outputs(con, staged)} from tt_typed "
        "anti join tt_broken on tt_broken.__tt_line = tt_typed.__tt_line"
    )


def _reference_joins(
    landing_file: LandingFile, org: str, suppressions: bool
) -> tuple[list[str], list[str]]:
    """Joins and flag columns for the orphan rules of ``landing_file.references``.

    A reference is known when the warehouse has the subject (this extract's earlier files are
    loaded by now) or when the subject was erased: its rows never reach validation again, so
    a newer extract may still point at it (a report by an anonymised teacher).
    """
    joins: list[str] = []
    flags: list[str] = []
    n = 0
    for reference in landing_file.references:
        value = f"typed.{s(reference.column)}"
        found: list[str] = []
        for target in reference.targets:
            kind = ""
            if target.when_kind is not None and reference.kind_column is not None:
                kind = f" and typed.{s(reference.kind_column)} = {literal(target.when_kind)}"
            joins.append(
                f"left join (select distinct organisation_id as __tt_rt{n}_org, "
                f"{ident(target.id_column)} as __tt_rt{n}_id from raw.{target.file}) as rt{n} "
                f"on rt{n}.__tt_rt{n}_org = typed.{org} and rt{n}.__tt_rt{n}_id = {value}{kind}"
            )
            found.append(f"rt{n}.__tt_rt{n}_id is not null")
            if suppressions:
                token = subject_token_sql(literal(target.erased_kind), f"typed.{org}", value)
                joins.append(
                    f"left join (select distinct organisation_id as __tt_re{n}_org, "
                    f"subject_token as __tt_re{n}_token from audit.erasure_suppressions "
                    f"where subject_kind = {literal(target.erased_kind)}) as re{n} "
                    f"on re{n}.__tt_re{n}_org = typed.{org} "
                    f"and re{n}.__tt_re{n}_token = {token}{kind}"
                )
                found.append(f"re{n}.__tt_re{n}_token is not null")
            n += 1
        flags.append(f"({' or '.join(found)}) as {reference_known(reference.column)}")
    return joins, flags


def checked_sql(staged: StagedFile, suppressions: bool = False) -> str:
    """``create temp view tt_checked``: first rule broken, details and raw values per row."""
    extract_file = staged.extract_file
    landing_file = extract_file.contract
    key = [s(k) for k in landing_file.key]
    org = s("organisation_id")

    joins = ["left join tt_dups as d on " + " and ".join(f"d.{k} = typed.{k}" for k in key)]
    joined_columns = [f"d.{DUP_LINES}"]
    if landing_file.name != "organisations":
        joins.append(
            f"left join (select distinct organisation_id as {KNOWN_ORG} from raw.organisations)"
            f" as o on o.{KNOWN_ORG} = typed.{org}"
        )
        joined_columns.append(f"o.{KNOWN_ORG}")
    if landing_file.pupil_column is not None:
        if landing_file.within_enrolment is None:
            pupils = (
                f"select distinct organisation_id as __tt_pupil_org, pupil_id as "
                f"{KNOWN_PUPIL} from raw.pupils"
            )
        else:
            pupils = (
                f"select organisation_id as __tt_pupil_org, pupil_id as {KNOWN_PUPIL}, "
                f"min(admission_date) as {ENROLLED_FROM}, case when "
                f"bool_or(leaving_date is null) then null else max(leaving_date) end "
                f"as {ENROLLED_TO} from raw.pupils group by all"
            )
            joined_columns += [f"p.{ENROLLED_FROM}", f"p.{ENROLLED_TO}"]
        joins.append(
            f"left join ({pupils}) as p on p.__tt_pupil_org = typed.{org} "
            f"and p.{KNOWN_PUPIL} = typed.{s(landing_file.pupil_column)}"
        )
        joined_columns.append(f"p.{KNOWN_PUPIL}")
    for column in landing_file.unique_per_organisation:
        joins.append(
            f"left join tt_first_{column} as u_{column} on u_{column}.__tt_line = typed.__tt_line"
        )
        joined_columns += [
            f"u_{column}.{first_holder(column)}",
            f"u_{column}.{first_holder_line(column)}",
        ]
    reference_joins, reference_flags = _reference_joins(landing_file, org, suppressions)
    joins += reference_joins
    joined_columns += reference_flags
    if landing_file.name == ATTENDANCE[0]:
        joins.append(
            f"left join tt_mark_in_force as mk on mk.__tt_mk_mark = typed.{s(ATTENDANCE[1])} "
            f"and mk.__tt_mk_day = typed.{s(ATTENDANCE[2])}"
        )
        joined_columns.append(f"mk.{MARK_IN_FORCE}")
    if landing_file.name == ASSESSMENT[0]:
        joins.append(f"left join tt_assess_map as m on m.__tt_am_value = typed.{s(ASSESSMENT[1])}")
        joined_columns += [
            f"m.{c}" for c in (ASSESSMENT_PATTERN, ASSESSMENT_MIN, ASSESSMENT_MAX, ASSESSMENT_CODES)
        ]

    checks = row_checks(landing_file)
    flags = [f"coalesce({check.condition}, false) as __tt_f{i}" for i, check in enumerate(checks)]
    first_rule = " ".join(
        f"when __tt_f{i} then {literal(check.rule)}" for i, check in enumerate(checks)
    )
    details = ", ".join(
        f"case when __tt_f{i} then {literal(check.rule + ': ')} || {check.detail} end"
        for i, check in enumerate(checks)
    )
    any_flag = " or ".join(f"__tt_f{i}" for i in range(len(checks)))

    return f"""
        create temp view tt_checked as
        with joined as (
            select typed.*, {", ".join(joined_columns)}
            from tt_typed as typed
            {" ".join(joins)}
        ),
        flagged as (
            select *, {", ".join(flags)} from joined
        )
        select
            __tt_line,
            case {first_rule} end as __tt_rule,
            case when {any_flag} then concat_ws('; ', {details}) end as __tt_detail,
            case when {any_flag} then {raw_values_sql(extract_file)} end as __tt_raw,
            {org} as __tt_org
        from flagged
    """
