"""Run ``dbt build`` on the warehouse for an evaluation date (``as_of``).

One function, :func:`run_dbt_build`, serves the CLI (``tinytracker build``) and can serve
Dagster: it makes sure the non-dbt tables exist (so a fresh warehouse has every source), points
dbt at the same warehouse file as everything else (env ``TINYTRACKER_DB``), passes ``as_of``
as the dbt var every retention model reads, and streams dbt's own output.

dbt runs in this process (:mod:`tinytracker.core.dbt_runner`: no start-up, no re-parse for a
new date); env ``TINYTRACKER_DBT_SUBPROCESS=1`` runs the same command line as a subprocess
instead, as before.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tinytracker.core import dbt_runner, paths, schema, warehouse
from tinytracker.core.dates import parse_date
from tinytracker.core.errors import TinyTrackerError

DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"
SUBPROCESS_ENV = "TINYTRACKER_DBT_SUBPROCESS"


def dbt_build_command(
    as_of: dt.date | None,
    select: Sequence[str] | None = None,
    command_name: str = "build",
    exclude: Sequence[str] | None = None,
    *,
    extra_vars: Mapping[str, object] | None = None,
    target_path: Path | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The exact dbt command line (kept separate so it can be shown and tested): what a
    subprocess runs, and, without the executable, what the in-process runner is given.

    ``extra_vars`` are dbt vars beside ``as_of`` (a dry run's ``retention_schema``);
    ``target_path`` keeps such a build's manifest apart from the one Dagster loads;
    ``extra_args`` go last (a production build's unit-test exclusion).
    """
    command = [str(DBT_EXECUTABLE), command_name]
    command += dbt_runner.common_args(None)
    dbt_vars: dict[str, object] = {}
    if as_of is not None:
        dbt_vars["as_of"] = as_of.isoformat()
    dbt_vars.update(extra_vars or {})
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    if select:
        # A partial build tests what it built: dbt's default ("eager") also runs a test that
        # reads a relation outside the selection, which may not exist yet (a marts test via a
        # selected staging view) or lives in another schema (a dry run's own copy).
        command += ["--select", *select, "--indirect-selection", "cautious"]
    if exclude:
        command += ["--exclude", *exclude]
    return command + list(extra_args)


# dbt's unit tests run on fixture rows, not on the warehouse's data: they prove the SQL, so they
# belong in CI (`make test` runs them in its `dbt build`) and a production build skips them, as
# dbt's documentation recommends. Data tests always run.
PRODUCTION_EXCLUDES = ("--exclude-resource-type", "unit_test")


def run_dbt_build(
    as_of: str | dt.date | None = None,
    select: Sequence[str] | None = None,
    unit_tests: bool = False,
    full_tests: bool = False,
) -> int:
    """Build (seeds, models, data tests) for ``as_of``; returns dbt's exit code (0 = passed).

    ``unit_tests`` adds dbt's unit tests, which a production build leaves to CI.
    ``full_tests`` makes the grain tests that a daily build scopes to the rows it added
    (macros/generic_tests/unique_combination_of_columns.sql) scan every row instead.
    """
    return run_dbt(
        as_of,
        select,
        command="build",
        extra_args=() if unit_tests else PRODUCTION_EXCLUDES,
        compile_vars={"full_tests": True} if full_tests else None,
    )


def run_dbt(
    as_of: str | dt.date | None = None,
    select: Sequence[str] | None = None,
    command: str = "build",
    exclude: Sequence[str] | None = None,
    *,
    extra_vars: Mapping[str, str] | None = None,
    target_path: Path | None = None,
    extra_args: Sequence[str] = (),
    compile_vars: Mapping[str, object] | None = None,
) -> int:
    """Run one dbt command (build, run, test) for ``as_of``; returns dbt's exit code.

    ``extra_vars`` change what dbt's parse produces (a dry run's schema); ``compile_vars``
    only what a node compiles to (like ``as_of``), so they never cost a parse.
    """
    as_of_date = parse_date(as_of, "--as-of")
    con = warehouse.connect()
    try:
        schema.ensure_schema(con)
    finally:
        con.close()
    db = paths.db_path().resolve()
    # dbt opens the file by name from its own directory: the profile dbt hashes then names
    # only the file, so the parse it saved for another warehouse of the same name (a copy,
    # a restored file, the next test's) is reused instead of parsing the project again (a
    # full parse is most of a small build's time). Project, profiles and target paths are
    # passed absolute, so dbt finds them from any directory.
    command_line = dbt_build_command(
        as_of_date,
        select,
        command,
        exclude,
        extra_vars={**(extra_vars or {}), **(compile_vars or {})},
        target_path=target_path,
        extra_args=extra_args,
    )
    if os.environ.get(SUBPROCESS_ENV) == "1":
        if not DBT_EXECUTABLE.exists():
            raise TinyTrackerError(f"dbt not found at {DBT_EXECUTABLE}: run `make setup` first")
        env = {**os.environ, paths.DB_ENV: db.name}
        return subprocess.run(command_line, env=env, cwd=db.parent, check=False).returncode
    # Only the vars that change the parse (a dry run's schema) key the parsed project; as_of
    # reaches dbt with the invocation's --vars and is rendered when each node is compiled.
    invocation = dbt_runner.invoke(
        command_line[1:],
        db=db,
        env={paths.DB_ENV: db.name},
        parse_vars=dict(extra_vars or {}),
        target_path=target_path,
    )
    return invocation.exit_code


def target_dir() -> Path:
    """Where dbt writes manifest.json and run_results.json (env ``DBT_TARGET_PATH``)."""
    return paths.in_project(os.environ.get("DBT_TARGET_PATH") or "target")


def failed_nodes(target: Path | None = None) -> list[str]:
    """Names of the nodes the last dbt command failed or errored on (run_results.json)."""
    results = (target or target_dir()) / "run_results.json"
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [
        str(result["unique_id"]).split(".")[2]
        for result in data.get("results", [])
        if result.get("status") in ("error", "fail", "runtime error")
    ]
