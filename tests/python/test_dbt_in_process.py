"""dbt runs inside the command's process on a parse it reuses: a new evaluation date is not a
new parse, and the warehouse file is free again the moment dbt returns."""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tinytracker.core import dbt_runner, paths, warehouse
from tinytracker.core.dbt import run_dbt, run_dbt_build

from conftest import TEST_SECRET, read

STATUS_MODELS = ["retention_status"]


def test_a_build_for_a_new_date_reuses_the_parse_and_uses_the_date(wh: Path):
    dbt_runner.forget_parsed_projects()
    assert run_dbt_build("2025-10-02", STATUS_MODELS) == 0  # parses, or loads a saved parse
    parsed_so_far = dbt_runner.parses
    assert run_dbt_build("2025-10-03", STATUS_MODELS) == 0
    assert dbt_runner.parses == parsed_so_far  # not again for another date
    assert read(wh, "select distinct as_of from retention.retention_status") == [
        (dt.date(2025, 10, 3),)
    ]


def parses_in_a_fresh_process(as_of: str, env: dict[str, str] | None = None) -> str:
    """What a new command (another process) parsed to build the status model for ``as_of``."""
    code = (
        "from tinytracker.core import dbt_runner; from tinytracker.core.dbt import run_dbt_build; "
        f"code = run_dbt_build({as_of!r}, ['retention_status']); "
        "print('parses', dbt_runner.parses, 'exit', code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return done.stdout.strip().splitlines()[-1]


def test_a_fresh_process_parses_nothing_for_a_date_it_never_saw(wh: Path):
    """A new command for a new date: the parse the last command saved is reused as it is."""
    assert run_dbt_build("2025-10-02", STATUS_MODELS) == 0  # saves the parse
    assert parses_in_a_fresh_process("2025-11-30") == "parses 0 exit 0"
    assert read(wh, "select distinct as_of from retention.retention_status") == [
        (dt.date(2025, 11, 30),)
    ]


def small_project(root: Path, model_sql: str) -> Path:
    """A one-model dbt project under ``root`` with this project's name and profile, for what
    must be shown on a project of its own (a parse quirk, an env var read while parsing)."""
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "macros").mkdir()
    (project / "dbt_project.yml").write_text(
        'name: tinytracker\nversion: "0.1.0"\nconfig-version: 2\nprofile: tinytracker\n'
    )
    shutil.copy(paths.PROJECT_DIR / "profiles.yml", project / "profiles.yml")
    (project / "models" / "a_model.sql").write_text(model_sql)
    return project


def list_in_process(target: Path, db: Path, env: dict[str, str]) -> dbt_runner.Invocation:
    """``dbt ls`` through the runner as a new command would run it: no parse cached in memory,
    only what earlier commands saved."""
    dbt_runner.forget_parsed_projects()
    return dbt_runner.invoke(
        ["ls", "--quiet", *dbt_runner.common_args(target)],
        db=db,
        env=env,
        parse_vars={},
        target_path=target,
    )


def test_the_saved_parse_serves_any_target_folder_and_goes_stale_with_what_the_parse_read(
    wh: Path, tmp_path: Path, monkeypatch
):
    """A new target folder (a dry run's, another deployment's) used to mean a full parse: the
    parse is saved for the project, and neither the secret, the folders only our Python reads
    nor the thread count (read by the on-run-start hook when it runs, not while dbt parses)
    make it stale; the next test shows what does. (A warehouse name of its own: the parse
    saved for it is the one this test checks.)"""
    db = tmp_path / "stale-check.duckdb"
    shutil.copy(wh, db)
    monkeypatch.setenv("TINYTRACKER_DB", str(db))
    assert run_dbt_build("2025-10-02", STATUS_MODELS) == 0  # saves the parse
    elsewhere = {
        "DBT_TARGET_PATH": str(tmp_path / "another-target"),
        "TINYTRACKER_SECRET": "another-secret-of-this-deployment",
        "TINYTRACKER_BACKUP_DIR": str(tmp_path / "backups"),
    }
    assert parses_in_a_fresh_process("2025-11-29", elsewhere) == "parses 0 exit 0"
    assert (tmp_path / "another-target" / "run_results.json").exists()
    other_threads = {**elsewhere, "TINYTRACKER_THREADS": "3"}
    assert parses_in_a_fresh_process("2025-11-28", other_threads) == "parses 0 exit 0"
    run_results = json.loads((tmp_path / "another-target" / "run_results.json").read_text())
    hooks = [r["compiled_code"] for r in run_results["results"] if "on-run-start" in r["unique_id"]]
    assert "set threads = 3" in hooks  # the hook still read the threads, when it ran
    saved = b"".join(path.read_bytes() for path in dbt_runner.saved_parse_files())
    assert saved and b"another-secret" not in saved and TEST_SECRET.encode() not in saved


def test_an_env_var_the_project_reads_while_parsing_makes_the_saved_parse_stale(
    tmp_path: Path, monkeypatch
):
    """What a model renders from env_var() at parse time is in the parse, so a saved parse is
    served only while every env var the parse read has the value it had then."""
    project = small_project(
        tmp_path, 'select \'{{ env_var("TT_PARSE_PROBE", "unset") }}\' as probe\n'
    )
    monkeypatch.setattr(paths, "PROJECT_DIR", project)

    def parses_for(probe: str) -> int:
        """How many parses a new command with TT_PARSE_PROBE=probe made (0: it loaded one)."""
        before = dbt_runner.parses
        done = list_in_process(
            tmp_path / "target", tmp_path / "w.duckdb", {"TT_PARSE_PROBE": probe}
        )
        assert done.exit_code == 0
        return dbt_runner.parses - before

    assert parses_for("a") == 1
    assert parses_for("a") == 0  # the saved parse, as it was
    assert parses_for("b") == 1  # stale: the model read another value
    assert parses_for("b") == 0


def test_a_project_folder_that_cannot_be_written_keeps_the_parse_in_the_target_folder(
    wh: Path, tmp_path: Path, monkeypatch
):
    """A read-only install (the project in an image, DBT_TARGET_PATH elsewhere) still saves
    the parse, beside dbt's artefacts, and the next command loads it from there."""
    blocked = tmp_path / "project-target-is-a-file"
    blocked.write_text("")  # no folder can be made under it, whoever runs the test
    monkeypatch.setattr(dbt_runner, "SAVED_PARSES", blocked / "parses")
    target = tmp_path / "target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    dbt_runner.forget_parsed_projects()
    assert run_dbt_build("2025-10-02", STATUS_MODELS) == 0
    assert list((target / "parses").glob("*.pickle"))
    dbt_runner.forget_parsed_projects()  # as a new command would start
    parsed_so_far = dbt_runner.parses
    assert run_dbt_build("2025-10-03", STATUS_MODELS) == 0
    assert dbt_runner.parses == parsed_so_far


def test_the_warehouse_is_free_again_when_dbt_returns(wh: Path):
    assert run_dbt(None, ["stg_organisations"], command="run") == 0
    # another configuration in this process (DuckDB refuses one while dbt's is open) ...
    con = warehouse.connect(wh, read_only=True)
    con.close()
    # ... and another process writing to the file
    code = f"import duckdb; duckdb.connect({str(wh)!r}).execute('create table t as select 1')"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def schemas_dbt_listed(log: Path, offset: int) -> set[str]:
    """The schemas dbt read the relations of (into its cache) since ``offset`` of its log."""
    with open(log, "rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    return set(re.findall(r'Using duckdb connection "list_[a-z0-9]+_([a-z_]+)"', text))


def test_a_build_of_one_model_lists_the_relations_of_its_own_schema_only(
    wh: Path, monkeypatch: pytest.MonkeyPatch
):
    """dbt starts sooner when it caches only the selected nodes' schemas; a build of
    more models caches each of theirs (dbt_project.yml: ``cache_selected_only``)."""
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # the tests' default is no log file
    log = Path(os.environ["DBT_LOG_PATH"]) / "dbt.log"
    offset = log.stat().st_size if log.exists() else 0
    assert run_dbt(None, ["stg_organisations"], command="run") == 0
    assert schemas_dbt_listed(log, offset) == {"staging"}
    offset = log.stat().st_size
    assert run_dbt(None, ["stg_organisations", "retention_status"], command="run") == 0
    assert schemas_dbt_listed(log, offset) == {"staging", "retention"}


def test_the_daily_grain_test_finds_a_new_mark_duplicating_an_old_one(wh: Path):
    """The scoped grain test looks the newest load's keys up among every mark."""
    con = duckdb.connect(str(wh))
    try:
        con.execute(
            """
            insert into raw.attendance_sessions by name
            select * replace (_loaded_at + interval 1 day as _loaded_at)
            from raw.attendance_sessions
            order by organisation_id, pupil_id, session_date, session limit 1
            """
        )
    finally:
        con.close()
    grain_test = "stg_attendance_sessions,test_name:unique_combination_of_columns"
    assert run_dbt(None, [grain_test], command="test") == 1


def test_the_full_grain_test_finds_a_mark_repeated_anywhere(wh: Path):
    """The weekly and CI scan (var full_tests) groups every mark by a hash of its key, then the
    marks of repeated hashes by the key itself: it passes on distinct marks, fails on one
    repeated (a group-by on the key itself ran out of memory at 1M pupils)."""
    grain_test = "stg_attendance_sessions,test_name:unique_combination_of_columns"
    every_row = {"full_tests": True}
    assert run_dbt(None, [grain_test], command="test", compile_vars=every_row) == 0
    con = duckdb.connect(str(wh))
    try:
        con.execute(
            """
            insert into raw.attendance_sessions by name
            select * replace (_loaded_at - interval 1 day as _loaded_at)
            from raw.attendance_sessions
            order by organisation_id desc, pupil_id desc, session_date, session limit 1
            """
        )
    finally:
        con.close()
    assert run_dbt(None, [grain_test], command="test", compile_vars=every_row) == 1


def test_the_grain_test_of_a_view_derives_it_once_and_finds_a_repeated_key(wh: Path):
    """On a view (the retention and reporting views are derived from raw at every read) the
    grain test's two passes read the keys derived once, and still fail on a repeated key."""
    grain_test = "stg_employees,test_name:unique_combination_of_columns"
    assert run_dbt(None, [grain_test], command="test") == 0
    target = Path(os.environ["DBT_TARGET_PATH"])
    compiled = next(target.glob("compiled/**/stg_employees.yml/unique_combination*"))
    assert "tested_keys as materialized" in compiled.read_text()
    con = duckdb.connect(str(wh))
    try:
        con.execute("insert into raw.employees by name select * from raw.employees limit 1")
    finally:
        con.close()
    assert run_dbt(None, [grain_test], command="test") == 1


def test_the_parse_goes_stale_with_a_project_file_not_with_bytecode_beside_the_tests(
    tmp_path: Path, monkeypatch
):
    """Python writes bytecode beside tests/python's modules as pytest imports them (unless
    PYTHONDONTWRITEBYTECODE): dbt reads none of it, so it must not cost a parse."""
    monkeypatch.setattr(paths, "PROJECT_DIR", tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a_model.sql").write_text("select 1 as one\n")
    (tmp_path / "tests" / "python").mkdir(parents=True)
    before = dbt_runner.project_state()
    (tmp_path / "tests" / "python" / "__pycache__").mkdir()
    (tmp_path / "tests" / "python" / "__pycache__" / "test_x.cpython-311.pyc").write_bytes(b"")
    assert dbt_runner.project_state() == before
    (tmp_path / "tests" / "a_singular_test.sql").write_text("select 1 where false\n")
    assert dbt_runner.project_state() != before


def test_a_partial_parse_that_fails_on_a_sound_project_is_done_again_in_full(
    tmp_path: Path, monkeypatch, capsys
):
    """dbt's partial parse fails on a macro's YAML entries taken out and put back (a git stash
    and pop: "found two schema.yml entries for the same macro", dbt-core #4233), and would fail
    every later command the same way until someone deletes target/partial_parse.msgpack."""
    project = small_project(tmp_path, "select 1 as one\n")
    (project / "macros" / "kept.sql").write_text("{% macro kept() %}1{% endmacro %}\n")
    (project / "macros" / "added.sql").write_text(
        "{% macro added() %}1{% endmacro %}\n{% macro default__added() %}1{% endmacro %}\n"
    )
    described = project / "macros" / "_macros.yml"
    kept_only = "version: 2\nmacros:\n  - name: kept\n    description: kept\n"
    both = kept_only + (
        "  - name: added\n    description: added\n"
        "  - name: default__added\n    description: its default\n"
    )
    monkeypatch.setattr(paths, "PROJECT_DIR", project)
    target = tmp_path / "target"

    def parse() -> int:
        # a new process each time: nothing cached but dbt's partial_parse.msgpack
        shutil.rmtree(project / "target", ignore_errors=True)
        return list_in_process(target, tmp_path / "w.duckdb", {}).exit_code

    described.write_text(both)
    assert parse() == 0
    described.write_text(kept_only)
    assert parse() == 0
    described.write_text(both)
    assert parse() == 0
    assert "partial parse failed" in capsys.readouterr().out
    # a project that is wrong still fails, and says why
    (project / "models" / "a_model.sql").write_text("select {{ 1 }\n")
    assert parse() == 2
    output = capsys.readouterr().out
    assert "dbt parse failed" in output and "a_model" in output


def command_on(project: Path, tmp_path: Path) -> dict[str, object]:
    """``dbt ls`` on ``project`` through the runner in a new process, as a new command runs it:
    its exit code, what it printed, how many of dbt's schemas it derived rather than read from
    the store, and the state of Python's collector after."""
    code = f"""
import gc, json
from pathlib import Path
from tinytracker.core import dbt_runner, dbt_schemas, paths
paths.PROJECT_DIR = Path({str(project)!r})
target = Path({str(tmp_path / "target")!r})
done = dbt_runner.invoke(["ls", "--quiet", *dbt_runner.common_args(target)],
    db=Path({str(tmp_path / "w.duckdb")!r}), env={{}}, parse_vars={{}}, target_path=target)
print(json.dumps({{"exit": done.exit_code, "derived": dbt_schemas.derivations,
    "collecting": gc.isenabled(), "frozen": gc.get_freeze_count()}}))
"""
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    result["output"] = done.stdout
    return result


def test_dbt_s_configuration_schemas_are_derived_once_and_still_reject_a_bad_project(
    tmp_path: Path,
):
    """dbt derives the JSON schemas of its project, profile and flags in every new process
    (0.3 s of a command's start): the first command keeps them, later ones read them, and a
    project dbt rejects is still rejected with dbt's own message."""
    project = small_project(tmp_path, "select 1 as one\n")
    first = command_on(project, tmp_path)
    assert first["exit"] == 0 and first["derived"] >= 5
    store = json.loads((project / "target" / "parses" / "json-schemas.json").read_text())
    assert "dbt.contracts.project:Project" in store
    assert "dbt.adapters.duckdb.credentials:DuckDBCredentials" in store
    assert command_on(project, tmp_path)["derived"] == 0
    project_file = project / "dbt_project.yml"
    project_file.write_text(project_file.read_text() + "quoting: 5\n")
    rejected = command_on(project, tmp_path)
    assert rejected["exit"] == 2 and rejected["derived"] == 0
    assert "quoting" in str(rejected["output"])


def test_a_stored_schema_from_other_code_is_derived_again(tmp_path: Path):
    """A schema kept by another version of dbt or mashumaro (its files' fingerprint differs) is
    not used: here the stored Project schema accepts anything, and the bad project is still
    rejected because the schema is derived again from the installed code."""
    project = small_project(tmp_path, "select 1 as one\n")
    assert command_on(project, tmp_path)["exit"] == 0
    store_file = project / "target" / "parses" / "json-schemas.json"
    store = json.loads(store_file.read_text())
    store["dbt.contracts.project:Project"] = {"fingerprint": "other code", "schema": {}}
    store_file.write_text(json.dumps(store))
    project_file = project / "dbt_project.yml"
    project_file.write_text(project_file.read_text() + "quoting: 5\n")
    rejected = command_on(project, tmp_path)
    assert rejected["exit"] == 2 and rejected["derived"] == 1
    assert json.loads(store_file.read_text())["dbt.contracts.project:Project"]["schema"]


def test_the_collector_is_back_on_after_the_first_invocation_with_dbt_frozen(tmp_path: Path):
    """Importing dbt and loading a parse run with Python's collector off (it would walk their
    objects again and again): it is on again when the command's dbt runs, and what they made
    is frozen out of its reach, whether the parse was loaded or parsed."""
    project = small_project(tmp_path, "select 1 as one\n")
    for _ in ("parsed", "loaded"):
        done = command_on(project, tmp_path)
        assert done["exit"] == 0 and done["collecting"] is True
        assert int(str(done["frozen"])) > 100_000


def test_a_caller_that_turned_the_collector_off_keeps_it_off():
    """A program that runs without Python's collector (its own choice) must not find it
    switched on by a dbt command, nor anything frozen it did not ask for."""
    startup = dbt_runner._StartupCollection()
    frozen = gc.get_freeze_count()
    gc.disable()
    try:
        startup.pause()
        startup.resume()
        assert not gc.isenabled()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.enable()
