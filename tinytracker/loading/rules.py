"""The landing contract's validation rules as SQL over a staged file.

Every rule is a boolean SQL condition with a human-readable detail (naming the column and the
value), generated from ``tinytracker.core.contract`` so a new column or code list needs no loader
change. A row breaking any rule is quarantined with the *first* rule it breaks (in the order of
``contract.QUARANTINE_RULES``) and the details of all of them.

Staged columns are referred to by prefix: ``__s_<column>`` is the trimmed text (empty = null),
``__t_<column>`` the typed value (null when it does not parse).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinytracker.core.contract import QUARANTINE_RULES, Column, LandingFile
from tinytracker.loading.sqltext import ident, literal, quoted_value

MIN_DATE = "1900-01-01"
MAX_DATE = "2100-12-31"
POSITIVE_INTEGER_COLUMNS = ("priority",)
UPN_COLUMNS = ("upn",)
ACADEMIC_YEAR_COLUMNS = ("academic_year",)
ATTENDANCE = ("attendance_sessions", "mark", "session_date")
ASSESSMENT = ("assessments", "assessment", "result")

# Columns added by joins in the checked query (see checked_sql).
DUP_LINES = "__tt_dup_lines"
KNOWN_ORG = "__tt_known_org"
KNOWN_PUPIL = "__tt_known_pupil"
ASSESSMENT_PATTERN = "__tt_am_pattern"
ASSESSMENT_MIN = "__tt_am_min"
ASSESSMENT_MAX = "__tt_am_max"
ASSESSMENT_CODES = "__tt_am_codes"
MARK_IN_FORCE = "__tt_mark_in_force"
ENROLLED_FROM = "__tt_enrolled_from"
ENROLLED_TO = "__tt_enrolled_to"


def reference_known(column: str) -> str:
    """Joined flag: the reference column names a subject the organisation has."""
    return ident(f"__tt_known_{column}")


def first_holder(column: str) -> str:
    """Joined id of the subject that holds this value first (null when the row is first)."""
    return ident(f"__tt_first_{column}_holder")


def first_holder_line(column: str) -> str:
    """Joined line of that subject's row (0: it is in the warehouse, not in this file)."""
    return ident(f"__tt_first_{column}_line")


def s(column: str) -> str:
    """Trimmed text of a staged contract column."""
    return ident(f"__s_{column}")


def t(column: str) -> str:
    """Typed value of a staged contract column."""
    return ident(f"__t_{column}")


@dataclass(frozen=True)
class Check:
    """One rule applied to one row: the condition that breaks it and what to tell people."""

    rule: str
    condition: str
    detail: str


def typed_sql(column: Column) -> str:
    """The typed value of a column, or null when its text does not parse strictly."""
    text = s(column.name)
    if column.type == "date":
        return (
            f"case when regexp_full_match({text}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
            f"and try_cast({text} as date) between date '{MIN_DATE}' and date '{MAX_DATE}' "
            f"then try_cast({text} as date) end"
        )
    if column.type == "boolean":
        return f"case {text} when 'true' then true when 'false' then false end"
    if column.type == "integer":
        return (
            f"case when regexp_full_match({text}, '[+-]?[0-9]{{1,18}}') "
            f"then cast({text} as bigint) end"
        )
    return text


def _detail(column: str, message: str) -> str:
    """``<column> '<value>' <message>`` as SQL."""
    return f"{literal(column + ' ')} || {quoted_value(s(column))} || {literal(' ' + message)}"


CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
"""RE2 class of the control characters no text column may hold (tab and newlines may: a free
text note can span lines)."""
SURPLUS_LINES = "tt_surplus_lines"
"""Temp table of the lines (``line``) whose record has more fields than the header."""


def row_checks(landing_file: LandingFile) -> list[Check]:
    """Every rule for one landing file, in rule order then column order."""
    by_rule: dict[str, list[Check]] = {rule: [] for rule in QUARANTINE_RULES}

    def add(rule: str, condition: str, detail: str) -> None:
        by_rule[rule].append(Check(rule, condition, detail))

    name = landing_file.name
    for column in landing_file.columns:
        c = column.name
        if column.required or c in landing_file.key:
            add("missing_required", f"{s(c)} is null", literal(f"{c} is empty"))
        add(
            "control_character",
            f"regexp_matches({s(c)}, '{CONTROL_CHARACTERS}')",
            literal(f"{c} holds a control character (code below 32 other than tab and newline)"),
        )
        if column.type == "date":
            add(
                "bad_date",
                f"{s(c)} is not null and {t(c)} is null",
                _detail(c, f"is not a date YYYY-MM-DD between {MIN_DATE} and {MAX_DATE}"),
            )
        elif column.type == "boolean":
            add(
                "bad_boolean",
                f"{s(c)} is not null and {t(c)} is null",
                _detail(c, "is not true or false"),
            )
        elif column.type == "integer":
            if c in POSITIVE_INTEGER_COLUMNS:
                add(
                    "bad_integer",
                    f"{s(c)} is not null and coalesce({t(c)} <= 0, true)",
                    _detail(c, "is not a positive integer"),
                )
            else:
                add(
                    "bad_integer",
                    f"{s(c)} is not null and {t(c)} is null",
                    _detail(c, "is not an integer"),
                )
        if column.value_set == "assessment":
            add(
                "unknown_code",
                f"{s(c)} is not null and {ASSESSMENT_PATTERN} is null",
                _detail(c, "matches no assessment type in seeds/reference/assessment_types.csv"),
            )
        elif column.value_set is not None:
            codes = f"select code from tt_codes where value_set = {literal(column.value_set)}"
            add(
                "unknown_code",
                f"{s(c)} is not null and not ({s(c)} in ({codes}))",
                _detail(c, f"is not a code of value set {column.value_set}"),
            )
        if c in UPN_COLUMNS:
            add(
                "bad_upn",
                f"{s(c)} is not null and not tt_is_valid_upn({s(c)})",
                f"{literal(c + ' ')} || {quoted_value(s(c))} || case "
                f"when tt_upn_has_shape({s(c)}) then ' has check letter ' || "
                f"substr({s(c)}, 1, 1) || ', expected ' || tt_upn_check_letter({s(c)}) "
                "else ' is not a UPN (13 characters: check letter, 11 digits, then a digit or "
                "a letter for a temporary UPN; no I, O or S)' end",
            )
        if c in ACADEMIC_YEAR_COLUMNS:
            add(
                "bad_academic_year",
                f"{s(c)} is not null and not coalesce("
                f"regexp_full_match({s(c)}, '[0-9]{{4}}/[0-9]{{2}}') and "
                f"(try_cast(substr({s(c)}, 1, 4) as integer) + 1) % 100 "
                f"= try_cast(substr({s(c)}, 6, 2) as integer), false)",
                _detail(c, "is not an academic year YYYY/YY of consecutive years (e.g. 2024/25)"),
            )

    if name == ATTENDANCE[0]:
        mark, day = s(ATTENDANCE[1]), t(ATTENDANCE[2])
        add(
            "mark_not_valid_on_date",
            f"not {MARK_IN_FORCE}",
            f"{literal('mark ')} || {quoted_value(mark)} || "
            f"' is not an attendance code in force on ' || cast({day} as varchar)",
        )

    if name == ASSESSMENT[0]:
        result = s(ASSESSMENT[2])
        score_ok = (
            f"(regexp_full_match({result}, '[0-9]{{1,6}}') and "
            f"try_cast({result} as integer) between {ASSESSMENT_MIN} and {ASSESSMENT_MAX})"
        )
        add(
            "bad_assessment_result",
            f"{ASSESSMENT_PATTERN} is not null and {result} is not null and not coalesce("
            f"list_contains({ASSESSMENT_CODES}, {result}) or {score_ok}, false)",
            f"{literal('result ')} || {quoted_value(result)} || ' is not valid for ' || "
            f"{s(ASSESSMENT[1])} || ' (' || concat_ws(', ', "
            f"case when {ASSESSMENT_MIN} is not null then 'a score ' || {ASSESSMENT_MIN} || "
            f"'-' || {ASSESSMENT_MAX} end, case when len({ASSESSMENT_CODES}) > 0 then "
            f"'a code ' || array_to_string({ASSESSMENT_CODES}, '|') end) || ')'",
        )

    for earlier, later in landing_file.date_order:
        add(
            "dates_out_of_order",
            f"{t(later)} < {t(earlier)}",
            f"{literal(later + ' ')} || cast({t(later)} as varchar) || "
            f"{literal(' is before ' + earlier + ' ')} || cast({t(earlier)} as varchar)",
        )

    for c in landing_file.unique_per_organisation:
        holder = ", ".join(landing_file.key[1:])
        add(
            f"duplicate_{c}",
            f"{first_holder(c)} is not null",
            _detail(c, f"is already the {c} of {holder} ") + f" || {quoted_value(first_holder(c))}"
            f" || case when {first_holder_line(c)} = 0 then ' in the warehouse' "
            f"else ' on line ' || {first_holder_line(c)} end",
        )

    key = ", ".join(landing_file.key)
    add(
        "duplicate_key",
        f"{DUP_LINES} is not null",
        f"{literal(f'key ({key}) = (')} || "
        f"concat_ws(', ', {', '.join(s(k) for k in landing_file.key)}) || "
        f"') appears more than once in this file, on lines ' || {DUP_LINES}",
    )

    if name != "organisations":
        add(
            "unknown_organisation",
            f"{s('organisation_id')} is not null and {KNOWN_ORG} is null",
            _detail(
                "organisation_id", "has no valid organisations row in this extract or the warehouse"
            ),
        )

    if landing_file.pupil_column is not None:
        pupil = landing_file.pupil_column
        add(
            "orphan_pupil",
            f"{s(pupil)} is not null and {s('organisation_id')} is not null "
            f"and {KNOWN_PUPIL} is null",
            _detail(pupil, "is not a pupil of organisation ")
            + f" || {quoted_value(s('organisation_id'))}",
        )

    org = s("organisation_id")
    for reference in landing_file.references:
        c = reference.column
        applies = "true"
        if reference.kind_column is not None:
            kinds = ", ".join(literal(str(target.when_kind)) for target in reference.targets)
            applies = f"{s(reference.kind_column)} in ({kinds})"
            noun = s(reference.kind_column)
        else:
            noun = literal(reference.targets[0].erased_kind.replace("_", " "))
        add(
            reference.rule,
            f"{s(c)} is not null and {org} is not null and {applies} and not {reference_known(c)}",
            _detail(c, "names no") + f" || ' ' || {noun} || ' of organisation ' || "
            f"{quoted_value(org)}",
        )

    if landing_file.within_enrolment is not None:
        day = t(landing_file.within_enrolment)
        add(
            "session_outside_enrolment",
            f"{day} < {ENROLLED_FROM} or {day} > {ENROLLED_TO}",
            f"{literal(landing_file.within_enrolment + ' ')} || cast({day} as varchar) || "
            f"' is outside the pupil''s enrolment (admission_date ' || "
            f"coalesce(cast({ENROLLED_FROM} as varchar), 'none') || ', leaving_date ' || "
            f"coalesce(cast({ENROLLED_TO} as varchar), 'none') || ')'",
        )

    add(
        "malformed_row",
        f"__tt_line in (select line from {SURPLUS_LINES})",
        literal(
            "the line has more fields than the header (even empty ones): its columns may be shifted"
        ),
    )
    return [check for rule in QUARANTINE_RULES for check in by_rule[rule]]
