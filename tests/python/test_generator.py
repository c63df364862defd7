"""The synthetic extract generator: contract-valid, realistic, deterministic.

Extracts are small (a few hundred pupils) so the module runs in seconds. The contract
checks here are an independent reading of ``tinytracker/core/contract.py`` and the seed CSVs
with DuckDB, not the loader's code, so the generator cannot pass by sharing a bug with it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli.main import main as cli_main
from tinytracker.core.contract import CODE_SEEDS, LANDING_FILES
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.upn import is_temporary_upn, is_valid_upn, make_upn, upn_check_letter
from tinytracker.generator import GeneratorConfig, generate_extract
from tinytracker.generator.calendar import academic_year_calendar
from tinytracker.generator.faults import KINDS
from tinytracker.generator.progress import Progress
from tinytracker.loading import load_extract

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "reference"
SMALL = dict(organisations=10, pupils=700, years=3, seed=7)


def _generate(out: Path, **options) -> Path:
    generate_extract(GeneratorConfig(out=out, **{**SMALL, **options}))
    return out


@pytest.fixture(scope="module")
def generated_extract(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("extract"))


@pytest.fixture(scope="module")
def generated_db(generated_extract) -> duckdb.DuckDBPyConnection:
    return _load(generated_extract)


def _load(folder: Path) -> duckdb.DuckDBPyConnection:
    """Every landing file as an all-text table with its line number, plus the seeds."""
    con = duckdb.connect()
    con.execute("set threads = 1")  # row_number() over () follows file order
    for landing in LANDING_FILES:
        path = folder / f"{landing.name}.csv"
        reader = f"read_csv('{path}', all_varchar = true, header = true)"
        if not path.exists():
            path = folder / f"{landing.name}.parquet"
            reader = f"read_parquet('{path}')"
        con.execute(
            f"create table {landing.name} as "
            f"select row_number() over () + 1 as _line, * from {reader}"
        )
    for seed in SEEDS.glob("*.csv"):
        con.execute(
            f"create table seed_{seed.stem} as select * from "
            f"read_csv('{seed}', all_varchar = true, header = true)"
        )
    return con


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


# ---------------------------------------------------------------- UPN check letters


@pytest.mark.parametrize(
    "upn",
    [
        "B801200005001",
        "H801200001001",
        "G80120000101A",
        "X00180001701A",
        "A950000178301",
        "P207000016049",
    ],
)
def test_upn_examples_from_school_data_are_valid(upn):
    assert is_valid_upn(upn)
    assert upn_check_letter(upn) == upn[0]


@pytest.mark.parametrize(
    "upn", ["A801200005001", "Z801200001001", "R247962919251", "Q207000016049", "G80120000101S"]
)
def test_upn_invalid_examples_from_school_data_are_rejected(upn):
    assert not is_valid_upn(upn)


def test_upn_with_letters_i_o_s_or_wrong_shape_is_rejected():
    assert upn_check_letter("?80120000101S") is None
    assert upn_check_letter("?80120000101I") is None
    assert not is_valid_upn("B80120000500")  # 12 characters
    assert not is_valid_upn("B8012000050A1")  # letter before position 13
    assert make_upn("801200005001") == "B801200005001"
    assert is_temporary_upn("G80120000101A") and not is_temporary_upn("B801200005001")


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


def test_pupil_year_group_is_age_on_31_august_of_the_last_year_on_roll(generated_db):
    """Year group is the one of the academic year containing the pupil's last day on roll:
    the leaving date, or the organisation's last data day (contract end or extract date)."""
    rows = generated_db.execute("""
        select p.date_of_birth, y.age_on_31_august,
               coalesce(p.leaving_date, least(o.contract_end, '2025-07-18')) as last_day
        from pupils p join organisations o using (organisation_id)
        join seed_year_groups y on y.year_group = p.year_group""").fetchall()
    assert len(rows) > 500
    for dob, age, last_day in rows:
        born, last = date.fromisoformat(dob), date.fromisoformat(last_day)
        year = last.year if last.month >= 9 else last.year - 1
        assert year - born.year - ((born.month, born.day) > (8, 31)) == int(age), (dob, last_day)


def test_attendance_marks_only_on_school_days_while_on_roll(generated_db):
    outside = generated_db.execute("""
        select count(*) from attendance_sessions a join pupils p using (organisation_id, pupil_id)
        where cast(a.session_date as date) < cast(p.admission_date as date)
           or cast(a.session_date as date)
              > coalesce(cast(p.leaving_date as date), date '2025-07-18')
           or dayofweek(cast(a.session_date as date)) in (0, 6)""").fetchone()[0]
    assert outside == 0


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
    other = _generate(tmp_path / "other", seed=8)

    def digests(folder: Path) -> dict[str, str]:
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
        }

    assert digests(again) == digests(generated_extract)
    assert digests(other) != digests(generated_extract)
    assert digests(other)["pupils.csv"] != digests(generated_extract)["pupils.csv"]


def test_parquet_format_writes_attendance_as_string_parquet_deterministically(tmp_path):
    first = _generate(tmp_path / "a", file_format="parquet", pupils=300, years=1)
    second = _generate(tmp_path / "b", file_format="parquet", pupils=300, years=1)
    assert (first / "attendance_sessions.parquet").exists()
    assert not (first / "attendance_sessions.csv").exists()
    assert (first / "pupils.csv").exists()
    for name in ("attendance_sessions.parquet", "assessments.parquet"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    con = _load(first)
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


# ---------------------------------------------------------------- organisations


def test_every_organisation_state_the_retention_rules_need_is_present(generated_db):
    rows = {
        r[0]: r[1:]
        for r in generated_db.execute("""
        select organisation_id, organisation_type, trust_id, contract_end, anonymise_requested_on,
               mis_permission, share_with_trust from organisations order by 1""").fetchall()
    }
    assert rows["ORG001"] == ("school", "TR001", None, None, "granted", "true")
    assert rows["ORG002"][2] == "2021-08-31"
    assert rows["ORG003"][2] == "2025-03-31"
    assert rows["ORG004"][2] is None and rows["ORG004"][3] == "2025-09-01"
    assert rows["ORG005"][4] == "revoked"
    assert rows["ORG006"][1] == rows["ORG007"][1] == "TR001"
    assert (rows["ORG006"][5], rows["ORG007"][5]) == ("true", "false")
    assert {r[0] for r in rows.values()} == {"school", "nursery"}


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


# ---------------------------------------------------------------- pupils


def test_leavers_span_several_years_and_the_retention_edge_dates(generated_db):
    years = {
        r[0]
        for r in generated_db.execute(
            "select distinct left(leaving_date, 4) from pupils where leaving_date is not null"
        ).fetchall()
    }
    assert {"2019", "2020", "2021", "2022", "2023", "2024", "2025"} <= years
    dates = {
        r[0]
        for r in generated_db.execute(
            "select leaving_date from pupils where organisation_id = 'ORG001'"
        ).fetchall()
    }
    assert {"2024-07-31", "2024-08-31", "2023-09-01", "2024-02-29", "2023-07-20"} <= dates


def test_upns_are_valid_unique_and_realistic(generated_db):
    upns = [
        r[0]
        for r in generated_db.execute("select upn from pupils where upn is not null").fetchall()
    ]
    assert all(is_valid_upn(u) for u in upns)
    assert len(set(upns)) == len(upns)
    temporary = sum(is_temporary_upn(u) for u in upns)
    assert 0 < temporary < 0.05 * len(upns)
    prefixes = generated_db.execute("""
        select organisation_id, count(distinct substr(upn, 2, 7)) from pupils
        where organisation_id = 'ORG001' group by 1""").fetchone()[1]
    assert prefixes > 1  # own school plus transferred-in pupils' schools


def test_pupil_characteristics_are_roughly_national(generated_db):
    share = lambda where: generated_db.execute(  # noqa: E731
        f"select avg(case when {where} then 1.0 else 0 end) from pupils"
    ).fetchone()[0]
    assert (
        0.55
        < share("ethnicity in (select code from seed_ethnicity_codes where main_code = 'WBRI')")
        < 0.8
    )
    assert 0.7 < share("first_language in ('ENG', 'ENB')") < 0.92
    assert 0.15 < share("fsm_eligible = 'true'") < 0.35
    assert 0.08 < share("sen_provision = 'K'") < 0.2
    assert 0.02 < share("sen_provision = 'E'") < 0.08
    assert share("gender = 'U'") < 0.03


def test_sen_records_exist_for_every_sen_pupil(generated_db):
    missing = generated_db.execute("""
        select count(*) from pupils p where sen_provision in ('K', 'E') and not exists (
            select 1 from sen_records s where s.organisation_id = p.organisation_id
            and s.pupil_id = p.pupil_id and s.provision = p.sen_provision)""").fetchone()[0]
    assert missing == 0


# ---------------------------------------------------------------- attendance


def test_both_attendance_code_sets_appear_around_august_2024(generated_db):
    marks = dict(
        generated_db.execute("""
        select case when session_date < '2024-08-19' then 'old' else 'new' end,
               list(distinct mark) from attendance_sessions group by 1""").fetchall()
    )
    assert {"H"} <= set(marks["old"]) and not {"K", "C1", "C2", "J1", "Y1"} & set(marks["old"])
    assert {"C2"} <= set(marks["new"]) and not {"H", "F", "J", "Y"} & set(marks["new"])
    assert "#" in marks["old"] and "#" in marks["new"]


def test_attendance_rates_are_realistic(generated_db):
    overall, persistent, severe = generated_db.execute("""
        with marks as (
            select a.organisation_id, a.pupil_id, c.category
            from attendance_sessions a join seed_attendance_codes c on c.code = a.mark
            where c.counts_as_possible = 'true'),
        per_pupil as (
            select count(*) as possible,
                   count(*) filter (where category in ('present', 'approved_activity')) as attended
            from marks group by organisation_id, pupil_id having count(*) >= 60)
        select sum(attended) / sum(possible),
               avg(case when 1 - attended / possible >= 0.1 then 1.0 else 0 end),
               avg(case when 1 - attended / possible >= 0.5 then 1.0 else 0 end)
        from per_pupil""").fetchone()
    assert 0.90 <= overall <= 0.97
    assert 0.08 <= persistent <= 0.30
    assert 0.003 <= severe <= 0.06
    top = generated_db.execute("""
        select mark from attendance_sessions join seed_attendance_codes on code = mark
        where category in ('present', 'approved_activity') and mark not in ('/', '\\')
        group by mark order by count(*) desc limit 1""").fetchone()[0]
    assert top == "L"
    top_authorised = generated_db.execute("""
        select mark from attendance_sessions join seed_attendance_codes on code = mark
        where category = 'authorised' group by mark order by count(*) desc limit 1""").fetchone()[0]
    assert top_authorised == "I"


def test_about_190_pupil_days_a_year_with_inset_days():
    for year in range(2019, 2026):
        cal = academic_year_calendar(year)
        assert 185 <= len(cal.pupil_days) <= 195
        assert len(cal.inset_days) == 5


# ---------------------------------------------------------------- other files


def test_assessments_cover_each_stage_and_correlate(generated_db):
    names = {
        r[0] for r in generated_db.execute("select distinct assessment from assessments").fetchall()
    }
    assert {
        "EYFSP_E01",
        "EYFSP_E17",
        "PHONICS",
        "MTC",
        "KS2_READ",
        "KS2_MATHS",
        "KS2_GPS",
        "KS2_WRITING_TA",
        "GCSE_MATHS",
    } <= names
    correlation = generated_db.execute("""
        select corr(try_cast(r.result as double), try_cast(m.result as double))
        from assessments r join assessments m using (organisation_id, pupil_id, academic_year)
        where r.assessment = 'KS2_READ' and m.assessment = 'KS2_MATHS'""").fetchone()[0]
    assert correlation > 0.5


def test_employees_include_leavers_with_and_without_historical_reports(generated_db):
    authored, not_authored = generated_db.execute("""
        select count(*) filter (where authored), count(*) filter (where not authored) from (
            select e.leaving_date, exists (select 1 from reports r
                   where r.organisation_id = e.organisation_id
                   and r.author_employee_id = e.employee_id) as authored
            from employees e where e.leaving_date is not null)""").fetchone()
    assert authored > 0 and not_authored > 0
    unknown_authors = generated_db.execute("""
        select count(*) from reports r where not exists (select 1 from employees e
        where e.organisation_id = r.organisation_id and e.employee_id = r.author_employee_id
        and e.start_date <= r.issued_on
        and coalesce(e.leaving_date, '9999') >= r.issued_on)""").fetchone()[0]
    assert unknown_authors == 0
    trns = [
        r[0]
        for r in generated_db.execute(
            "select teacher_number from employees where teacher_number is not null"
        ).fetchall()
    ]
    assert all(t.isdigit() and len(t) == 7 or t.startswith("RP") for t in trns)


def test_correspondence_names_existing_subjects_of_each_kind(generated_db):
    kinds = dict(
        generated_db.execute(
            "select subject_kind, count(*) from correspondence group by 1"
        ).fetchall()
    )
    assert set(kinds) == {"pupil", "contact", "employee"}
    orphans = generated_db.execute("""
        select count(*) from correspondence c where not exists (
            select 1 from pupils p where c.subject_kind = 'pupil'
                and p.organisation_id = c.organisation_id and p.pupil_id = c.subject_id
            union all select 1 from pupil_contacts k where c.subject_kind = 'contact'
                and k.organisation_id = c.organisation_id and k.contact_id = c.subject_id
            union all select 1 from employees e where c.subject_kind = 'employee'
                and e.organisation_id = c.organisation_id and e.employee_id = c.subject_id)
        """).fetchone()[0]
    assert orphans == 0


def test_setup_imports_hold_json_rows_naming_pupils_old_and_recent(generated_db):
    rows = generated_db.execute(
        "select organisation_id, processed_on, payload from setup_imports"
    ).fetchall()
    upns = {
        (r[0], r[1])
        for r in generated_db.execute("select organisation_id, upn from pupils").fetchall()
    }
    for org, _processed, payload in rows[:500]:
        record = json.loads(payload)
        assert (org, record["upn"]) in upns and record["forename"]
    processed = {date.fromisoformat(r[1]) for r in rows}
    assert min(processed) < date(2024, 7, 18) < max(processed)


# ---------------------------------------------------------------- injected errors


def test_inject_errors_adds_exactly_that_many_bad_rows(tmp_path):
    n = len(KINDS) + 3
    summary = generate_extract(
        GeneratorConfig(out=tmp_path, **{**SMALL, "pupils": 300}, inject_errors=n)
    )
    assert len(summary.injected) == n
    bad = contract_violations(_load(tmp_path))
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
