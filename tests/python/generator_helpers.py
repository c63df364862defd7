"""A small generated extract shared by the generator tests (test_generator*.py), and a loader of
an extract's files into DuckDB as plain text that does not use the project's own loader.

The fixtures are module-scoped: each test module generates and reads its extract once (import
both ``generated_db`` and the ``generated_extract`` it needs).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tinytracker.core.contract import LANDING_FILES
from tinytracker.generator import GeneratorConfig, generate_extract

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "reference"
SMALL = dict(organisations=10, pupils=700, years=3, seed=7)


def generate_small(out: Path, **options) -> Path:
    generate_extract(GeneratorConfig(out=out, **{**SMALL, **options}))
    return out


@pytest.fixture(scope="module")
def generated_extract(tmp_path_factory) -> Path:
    return generate_small(tmp_path_factory.mktemp("extract"))


@pytest.fixture(scope="module")
def generated_db(generated_extract) -> duckdb.DuckDBPyConnection:
    return load_as_text(generated_extract)


def load_as_text(folder: Path) -> duckdb.DuckDBPyConnection:
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
