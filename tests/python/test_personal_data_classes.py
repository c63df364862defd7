"""Every staging-layer column names its personal-data class (issue 2, style.md).

The class in ``config.meta.personal_data`` is what the DPO reads in dbt docs and what
``no_direct_identifier_lineage`` traces, so a column without one, or with a class outside the
issue's list, is a documentation bug this test catches. The YAMLs are read as plain files; the
last test compares them with the tables and views as built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tinytracker.core import schema
from tinytracker.core.contract import LANDING_FILES, QUARANTINE_RULES

STAGING = Path(__file__).resolve().parents[2] / "models" / "staging"
YAMLS = sorted(STAGING.glob("*.yml"))
"""The staging layer's YAMLs: sources split by table group, one file per staging model."""
CLASSES = ("special_category", "direct_identifier", "quasi_identifier", "none")
"""The issue's classes, strongest first: special category data (GDPR Art. 9) is identifying
personal data needing the most protection."""
CAN_HOLD_ANYTHING = {"_extra", "raw_values"}
"""Columns whose content the sender chooses: classed as the strongest class."""


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _entries(key: str) -> list[dict[str, Any]]:
    """Every ``sources`` or ``models`` entry of the staging YAMLs, whichever file holds it."""
    return [entry for path in YAMLS for entry in (_load(path).get(key) or [])]


def _source_tables() -> dict[str, list[dict[str, Any]]]:
    """``schema.table`` -> its columns, for every source table."""
    tables = [
        (f"{source['schema']}.{table['name']}", table.get("columns", []))
        for source in _entries("sources")
        for table in source["tables"]
    ]
    assert len(tables) == len(dict(tables)), "a source table is declared twice"
    return dict(tables)


def _models() -> dict[str, list[dict[str, Any]]]:
    models = [(model["name"], model.get("columns", [])) for model in _entries("models")]
    assert len(models) == len(dict(models)), "a staging model is declared twice"
    return dict(models)


def _class_of(column: dict[str, Any]) -> Any:
    meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
    return meta.get("personal_data")


def _all_columns() -> list[tuple[str, dict[str, Any]]]:
    tables = {**_source_tables(), **_models()}
    return [
        (f"{table}.{column['name']}", column)
        for table, columns in tables.items()
        for column in columns
    ]


@pytest.mark.parametrize(("where", "column"), _all_columns(), ids=[w for w, _ in _all_columns()])
def test_every_column_has_a_valid_personal_data_class_and_a_description(
    where: str, column: dict[str, Any]
) -> None:
    assert _class_of(column) in CLASSES, (
        f"{where}: config.meta.personal_data is {_class_of(column)!r}; use one of {CLASSES}"
    )
    assert (column.get("description") or "").strip(), f"{where} has no description"


def test_the_checks_see_every_table_and_model() -> None:
    tables = _source_tables()
    assert {f"raw.{f.name}" for f in LANDING_FILES} | {"raw.quarantine", "raw.load_log"} <= set(
        tables
    )
    assert all(tables.values()), [t for t, columns in tables.items() if not columns]
    sql_models = {path.stem for path in STAGING.glob("stg_*.sql")}
    assert sql_models == set(_models()), "every staging model has a YAML entry, and no more"


def test_columns_the_sender_fills_freely_carry_the_strongest_class() -> None:
    free = [
        (where, column)
        for where, column in _all_columns()
        if where.split(".")[-1] in CAN_HOLD_ANYTHING
    ]
    assert len(free) == len(LANDING_FILES) + 1  # _extra of every landing table, raw_values
    assert {where: _class_of(c) for where, c in free} == {where: CLASSES[0] for where, _ in free}


def test_source_columns_are_exactly_the_warehouse_columns() -> None:
    """raw and audit tables are created by the CLI, not dbt: the YAML must follow the DDL."""
    con = duckdb.connect()
    schema.ensure_schema(con)
    built = {}
    for schema_name, table, column in con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('raw', 'audit') order by table_schema, table_name, "
        "ordinal_position"
    ).fetchall():
        built.setdefault(f"{schema_name}.{table}", []).append(column)
    declared = {table: [c["name"] for c in columns] for table, columns in _source_tables().items()}
    assert declared == built


def test_the_quarantine_view_lists_every_rule_and_leaves_the_values_out() -> None:
    quarantine = {c["name"]: c for c in _models()["stg_quarantine"]}
    assert not {"raw_values", "detail"} & set(quarantine)
    (accepted,) = [
        test["accepted_values"]["arguments"]["values"]
        for test in quarantine["rule"]["data_tests"]
        if "accepted_values" in test
    ]
    assert accepted == list(QUARANTINE_RULES)


def test_staging_views_as_built_have_exactly_the_documented_columns(
    synthetic_warehouse: Path,
) -> None:
    with duckdb.connect(str(synthetic_warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'staging' order by table_name, ordinal_position"
        ).fetchall()
    built: dict[str, set[str]] = {}
    for table, column in rows:
        built.setdefault(table, set()).add(column)
    documented = {model: {c["name"] for c in columns} for model, columns in _models().items()}
    assert built == documented
