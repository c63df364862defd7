"""Code lists and SQL helpers the validation rules need, read from ``seeds/reference``.

The loader reads the same seed CSV files as dbt (directly, with DuckDB) so a code added to a
seed is accepted by the loader and by the dbt tests at once; nothing is copied into Python.
Everything here is a temp object of the load's connection and disappears with it.
"""

from __future__ import annotations

import duckdb

from tinytracker.core.contract import CODE_SEEDS
from tinytracker.core.paths import SEEDS_DIR
from tinytracker.core.warehouse import scalar
from tinytracker.loading.sqltext import ident, literal

REFERENCE_DIR = SEEDS_DIR / "reference"
VALUE_SETS_SEED = "value_sets"

# DfE UPN check-letter table: 23 letters, no I, O or S (school-data.md); index = value.
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
UPN_LETTER_CLASS = "A-HJ-NP-RT-Z"


def seed_sql(seed: str) -> str:
    """``read_csv`` of one seed file, every column text (codes like ``1`` stay codes)."""
    path = REFERENCE_DIR / f"{seed}.csv"
    return (
        f"read_csv({literal(str(path))}, header = true, all_varchar = true, "
        "delim = ',', quote = '\"', escape = '\"')"
    )


def upn_macros_sql() -> list[str]:
    """DuckDB macros for the UPN check letter, so the rule is SQL and testable on its own.

    Check letter = table[sum(p * value(char p) for p in 2..13) mod 23]; a letter in position 13
    (temporary UPN) counts as its index in the table.
    """
    digit_terms = " + ".join(
        f"{p} * try_cast(substr(upn, {p}, 1) as integer)" for p in range(2, 13)
    )
    last = (
        "(case when substr(upn, 13, 1) between '0' and '9' "
        "then try_cast(substr(upn, 13, 1) as integer) "
        f"else nullif(strpos('{UPN_LETTERS}', substr(upn, 13, 1)), 0) - 1 end)"
    )
    return [
        "create or replace temp macro tt_upn_check_letter(upn) as "
        f"substr('{UPN_LETTERS}', cast(({digit_terms} + 13 * {last}) % 23 as integer) + 1, 1)",
        "create or replace temp macro tt_upn_has_shape(upn) as "
        f"regexp_full_match(upn, '[{UPN_LETTER_CLASS}][0-9]{{11}}[0-9{UPN_LETTER_CLASS}]')",
        "create or replace temp macro tt_is_valid_upn(upn) as "
        "coalesce(tt_upn_has_shape(upn) and substr(upn, 1, 1) = tt_upn_check_letter(upn), false)",
    ]


def create_reference(con: duckdb.DuckDBPyConnection) -> None:
    """Temp tables ``tt_codes``, ``tt_attendance_codes``, ``tt_assessment_types`` + macros."""
    selects = [f"select value_set, code from {seed_sql(VALUE_SETS_SEED)}"]
    for value_set, seed in CODE_SEEDS.items():
        # A seed's first column is its code (code, assessment_pattern, year_group).
        code_column = scalar(con, f"describe select * from {seed_sql(seed)}")
        selects.append(
            f"select {literal(value_set)} as value_set, {ident(code_column)} as code "
            f"from {seed_sql(seed)}"
        )
    con.execute("create or replace temp table tt_codes as " + " union all ".join(selects))
    con.execute(
        "create or replace temp table tt_attendance_codes as "
        "select code, cast(nullif(valid_from, '') as date) as valid_from, "
        "cast(nullif(valid_to, '') as date) as valid_to "
        f"from {seed_sql('attendance_codes')}"
    )
    # LIKE patterns: '_' in a pattern such as EYFSP_E01 is a literal underscore, '%' a wildcard.
    con.execute(
        "create or replace temp table tt_assessment_types as "
        "select row_number() over () as pattern_order, assessment_pattern, "
        "replace(assessment_pattern, '_', '\\_') as like_pattern, "
        "cast(nullif(min_score, '') as integer) as min_score, "
        "cast(nullif(max_score, '') as integer) as max_score, "
        "coalesce(string_split(nullif(result_codes, ''), '|'), []) as result_codes "
        f"from {seed_sql(CODE_SEEDS['assessment'])}"
    )
    for sql in upn_macros_sql():
        con.execute(sql)
