"""The synthetic extract generator: contract-valid and deterministic, with its options.

Extracts are small (a few hundred pupils) so the module runs in seconds. The contract
checks here are an independent reading of ``tinytracker/core/contract.py`` and the seed CSVs
with DuckDB, not the loader's code, so the generator cannot pass by sharing a bug with it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli.main import main as cli_main
from tinytracker.core.contract import CODE_SEEDS, LANDING_FILES
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.upn import is_valid_upn
from tinytracker.generator import GeneratorConfig, generate_extract
from tinytracker.generator.faults import KINDS
from tinytracker.generator.progress import Progress
from tinytracker.loading import load_extract

from generator_helpers import SMALL, generate_small, generated_db, generated_extract, load_as_text  # noqa: F401 - fixtures


def _codes(con: duckdb.DuckDBPyConnection, value_set: str) -> str:
    """SQL for the codes of a value set: its own seed, or rows of value_sets.csv."""
    if value_set in CODE_SEEDS:
        seed = CODE_SEEDS[value_set]
        column = {"assessment_types": "assessment_pattern", "year_groups": "year_group"}.get(
            seed, "code"
        )
        return f"select {column} from seed_{seed}"
    return f"select code from seed_value_sets where value_set = '{value_set}'"


def contract_violations(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], set[str]]:
    """(file, line) -> rules broken, for every row that breaks the landing contract."""
    bad: dict[tuple[str, int], set[str]] = {}

    def flag(name: str, rule: str, where_sql: str) -> None:
        for (line,) in con.execute(f"select _line from {name} where {where_sql}").fetchall():
            bad.setdefault((name, line), set()).add(rule)

    for landing in LANDING_FILES:
        name = landing.name
        for column in landing.columns:
            c = column.name
            if column.required or c in landing.key:
                flag(name, "missing_required", f"{c} is null")
            if column.type == "date":
                flag(
                    name,
                    "bad_date",
                    f"{c} is not null and (try_strptime({c}, '%Y-%m-%d') is null "
                    f"or not regexp_full_match({c}, '\\d{{4}}-\\d{{2}}-\\d{{2}}'))",
                )
            if column.type == "boolean":
                flag(name, "bad_boolean", f"{c} not in ('true', 'false')")
            if column.type == "integer":
                flag(
                    name,
                    "bad_integer",
                    f"try_cast({c} as bigint) is null or try_cast({c} as bigint) < 1",
                )
            if column.value_set and column.value_set != "assessment":
                flag(
                    name,
                    "unknown_code",
                    f"{c} is not null and {c} not in ({_codes(con, column.value_set)})",
                )
        keys = ", ".join(landing.key)
        flag(
            name,
            "duplicate_key",
            f"_line in (select _line from (select _line, row_number() over "
            f"(partition by {keys} order by _line) as n from {name} "
            f"where {' and '.join(k + ' is not null' for k in landing.key)}) where n > 1)",
        )
        flag(
            name,
            "unknown_organisation",
            "organisation_id not in (select organisation_id from organisations)",
        )
        if landing.pupil_column:
            flag(
                name,
                "orphan_pupil",
                f"{landing.pupil_column} is not null and not exists (select 1 "
                f"from pupils p where p.organisation_id = {name}.organisation_id "
                f"and p.pupil_id = {name}.{landing.pupil_column})",
            )
        for earlier, later in landing.date_order:
            flag(
                name,
                "dates_out_of_order",
                f"try_cast({later} as date) < try_cast({earlier} as date)",
            )
        for reference in landing.references:

            def of_kind(kind: str | None, name: str = name, reference=reference) -> str:
                return f" and {name}.{reference.kind_column} = '{kind}'" if kind else ""

            known = " or ".join(
                f"(exists (select 1 from {t.file} as x where x.organisation_id = "
                f"{name}.organisation_id and x.{t.id_column} = {name}.{reference.column})"
                f"{of_kind(t.when_kind)})"
                for t in reference.targets
            )
            flag(name, reference.rule, f"{reference.column} is not null and not ({known})")
        if landing.within_enrolment:
            day = f"cast({name}.{landing.within_enrolment} as date)"
            flag(
                name,
                "session_outside_enrolment",
                f"""exists (select 1 from pupils p
                where p.organisation_id = {name}.organisation_id and p.pupil_id = {name}.pupil_id
                and ({day} < cast(p.admission_date as date)
                     or {day} > cast(p.leaving_date as date)))""",
            )
        for column in landing.unique_per_organisation:
            flag(
                name,
                f"duplicate_{column}",
                f"""exists (select 1 from {name} as e
                where e.organisation_id = {name}.organisation_id and e.{column} = {name}.{column}
                and e.pupil_id <> {name}.pupil_id and e._line < {name}._line)""",
            )
    for line, upn in con.execute("select _line, upn from pupils where upn is not null").fetchall():
        if not is_valid_upn(upn):
            bad.setdefault(("pupils", line), set()).add("bad_upn")
    flag(
        "attendance_sessions",
        "mark_not_valid_on_date",
        """not exists (
        select 1 from seed_attendance_codes c where c.code = mark
        and (c.valid_from is null or try_cast(session_date as date) >= cast(c.valid_from as date))
        and (c.valid_to is null or try_cast(session_date as date) <= cast(c.valid_to as date)))
        and mark in (select code from seed_attendance_codes)""",
    )
    flag(
        "assessments",
        "unknown_code",
        """not (assessment in (select assessment_pattern from
        seed_assessment_types) or regexp_full_match(assessment, 'GCSE_[A-Z_]+'))""",
    )
    flag(
        "assessments",
        "bad_assessment_result",
        """not (
        (assessment like 'EYFSP_E%' and result in ('1', '2'))
        or (assessment = 'PHONICS' and try_cast(result as int) between 0 and 40)
        or (assessment = 'MTC' and try_cast(result as int) between 0 and 25)
        or (assessment in ('KS2_READ', 'KS2_MATHS', 'KS2_GPS')
            and (try_cast(result as int) between 80 and 120 or result in ('A','B','T','M','Q','U')))
        or (assessment = 'KS2_WRITING_TA'
            and result in ('GDS','EXS','WTS','PK1','PK2','PK3','PK4','PK5','PK6'))
        or (assessment like 'GCSE_%'
            and (try_cast(result as int) between 1 and 9 or result = 'U')))""",
    )
    flag(
        "assessments",
        "bad_academic_year",
        """not (regexp_full_match(academic_year, '\\d{4}/\\d{2}')
        and (cast(left(academic_year, 4) as int) + 1) % 100
            = cast(right(academic_year, 2) as int))""",
    )
    return bad


# ---------------------------------------------------------------- contract


def test_every_landing_file_has_exactly_the_contract_columns_in_order(generated_extract):
    for landing in LANDING_FILES:
        with open(generated_extract / f"{landing.name}.csv", encoding="utf-8", newline="") as f:
            header = next(csv.reader(f))
        assert tuple(header) == landing.column_names, landing.name


def test_clean_extract_breaks_no_contract_rule(generated_db):
    bad = contract_violations(generated_db)
    assert not bad, sorted(bad.items())[:20]


def test_every_file_has_rows_and_text_is_utf8_without_stray_whitespace(
    generated_extract, generated_db
):
    for landing in LANDING_FILES:
        assert generated_db.execute(f"select count(*) from {landing.name}").fetchone()[0] > 0
        text = (generated_extract / f"{landing.name}.csv").read_bytes().decode("utf-8")
        assert "\r" not in text
    padded = generated_db.execute(
        "select count(*) from pupils where forename <> trim(forename) or address <> trim(address)"
    ).fetchone()[0]
    assert padded == 0


# ---------------------------------------------------------------- determinism


def test_same_options_give_byte_identical_files_and_another_seed_differs(
    tmp_path, generated_extract
):
    # A separate process with another PYTHONHASHSEED: no output may depend on set/dict order.
    again = tmp_path / "again"
    options = [f"--{k}={v}" for k, v in SMALL.items()]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tinytracker.cli.main",
            "generate",
            "--out",
            str(again),
            "--quiet",
            *options,
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        cwd=Path(__file__).resolve().parents[2],
    )
    other = generate_small(tmp_path / "other", seed=8)

    def digests(folder: Path) -> dict[str, str]:
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
        }

    assert digests(again) == digests(generated_extract)
    assert digests(other) != digests(generated_extract)
    assert digests(other)["pupils.csv"] != digests(generated_extract)["pupils.csv"]


def test_parquet_format_writes_attendance_as_string_parquet_deterministically(tmp_path):
    first = generate_small(tmp_path / "a", file_format="parquet", pupils=300, years=1)
    second = generate_small(tmp_path / "b", file_format="parquet", pupils=300, years=1)
    assert (first / "attendance_sessions.parquet").exists()
    assert not (first / "attendance_sessions.csv").exists()
    assert (first / "pupils.csv").exists()
    for name in ("attendance_sessions.parquet", "assessments.parquet"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    con = load_as_text(first)
    columns = con.execute("describe attendance_sessions").fetchall()
    assert [c[0] for c in columns][1:] == [
        "organisation_id",
        "pupil_id",
        "session_date",
        "session",
        "mark",
    ]
    assert {c[1] for c in columns[1:]} == {"VARCHAR"}
    assert not contract_violations(con)


def test_fewer_than_seven_organisations_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(TinyTrackerError, match="at least 7"):
        GeneratorConfig(out=tmp_path, organisations=6).validate()
    assert cli_main(["generate", "--out", str(tmp_path / "x"), "--organisations", "6"]) == 2
    err = capsys.readouterr().err
    assert "at least 7" in err and "Traceback" not in err


def test_generate_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        cli_main(["generate", "--help"])
    text = capsys.readouterr().out
    for option in (
        "--out",
        "--organisations",
        "--pupils",
        "--years",
        "--seed",
        "--extract-date",
        "--format",
        "--inject-errors",
    ):
        assert option in text
    # the contract it points at is the one in this repository
    assert "(docs/landing-contract.md)" in text and "shared/spec" not in text
    assert (Path(__file__).resolve().parents[2] / "docs" / "landing-contract.md").exists()


# ---------------------------------------------------------------- injected errors


def test_inject_errors_adds_exactly_that_many_bad_rows(tmp_path):
    n = len(KINDS) + 3
    summary = generate_extract(
        GeneratorConfig(out=tmp_path, **{**SMALL, "pupils": 300}, inject_errors=n)
    )
    assert len(summary.injected) == n
    bad = contract_violations(load_as_text(tmp_path))
    assert len(bad) == n, sorted(bad.items())
    rules = {rule for rules in bad.values() for rule in rules}
    assert {
        "bad_upn",
        "unknown_code",
        "mark_not_valid_on_date",
        "dates_out_of_order",
        "bad_date",
        "duplicate_key",
        "orphan_pupil",
        "missing_required",
        "session_outside_enrolment",
        "duplicate_upn",
        "orphan_employee",
        "orphan_subject",
    } <= rules
    assert {file for file, _line in bad} >= {"pupils", "attendance_sessions", "employees"}


# ---------------------------------------------------------------- progress


class _Terminal(io.StringIO):
    """A stderr stand-in that says it is a terminal, so Progress redraws its bar."""

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_reaches_100_percent_exactly_at_the_end(tmp_path):
    stream = _Terminal()
    progress = Progress(1, stream=stream)
    generate_extract(
        GeneratorConfig(out=tmp_path, **{**SMALL, "pupils": 300, "years": 1}), progress
    )
    assert progress.done == progress.total
    frames = [f for f in stream.getvalue().split("\r") if f.strip()]
    percents = [int(f.split("]")[1].split("%")[0]) for f in frames]
    assert percents[-1] == 100 and "done" in frames[-1]
    assert percents == sorted(percents) and percents.count(100) == 1
    assert len(frames) == progress.total


def test_the_loader_quarantines_exactly_the_injected_rows_and_loads_the_rest(tmp_path):
    """The generator's clean output breaks no loader rule; each injected row breaks its own."""
    summary = generate_extract(
        GeneratorConfig(
            out=tmp_path / "extract",
            **{**SMALL, "pupils": 300, "years": 1},
            inject_errors=len(KINDS),
        )
    )
    db = tmp_path / "warehouse.duckdb"
    result = load_extract(summary.out, db)
    with duckdb.connect(str(db), read_only=True) as con:
        quarantined = con.execute(
            "select split_part(file_name, '.', 1), rule from raw.quarantine"
        ).fetchall()
    expected = Counter((e.file, e.rule) for e in summary.injected)
    expected[("attendance_sessions", "duplicate_key")] += 1  # both copies of a repeated key
    assert Counter(quarantined) == expected
    refused = sum(f.refused for f in result.files)
    assert refused > 0  # ORG005's rows (MIS permission revoked)
    assert result.total("inserted") == sum(summary.rows(f.name) for f in LANDING_FILES) - (
        len(quarantined) + refused
    )
