"""After a retention apply nothing erased remains: not in the warehouse file's bytes, not after
a second apply for the same date, not after reloading the same extract.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import duckdb

from tinytracker import tasks
from tinytracker.core.bytescan import values_in_files
from tinytracker.loading.run import load_extract
from tinytracker.retention.output import format_result

from apply_helpers import AS_OF, assert_raw_unchanged, snapshot
from conftest import (
    EXTRA_COLUMNS,
    AppliedRun,
    SyntheticTemplate,
    read,
)


def test_second_apply_for_the_same_date_changes_nothing(after_apply: Path, tmp_path: Path):
    after_first = snapshot(after_apply, tmp_path / "after_first.duckdb")
    second = tasks.apply_retention(AS_OF, dry_run=False, build=True)
    assert second.steps == [] and second.outcome == "nothing_due"
    assert "the warehouse is unchanged" in format_result(second)
    assert_raw_unchanged(after_first, after_apply)


def erased_values(before: Path, after: Path) -> dict[str, list[str]]:
    """Per kind, values only the erased rows held: UPNs, names, e-mails, SEN notes and the
    columns beyond the contract of the subjects the plan erases, less any value (or part of
    one) still held by a kept row, a seed or the catalogue of the warehouse after the run."""
    planned_pupils = """
        semi join retention.retention_plan as plan
            on plan.table_name = 'raw.pupils' and plan.organisation_id = t.organisation_id
            and plan.subject_id = t.pupil_id"""
    planned_employees = """
        semi join retention.retention_plan as plan
            on plan.table_name = 'raw.employees' and plan.organisation_id = t.organisation_id
            and plan.subject_id = t.employee_id"""
    deleted_contacts = """
        semi join retention.retention_plan as plan
            on plan.table_name = 'raw.pupil_contacts' and plan.organisation_id = t.organisation_id
            and (plan.subject_id = t.contact_id and plan.key_column = 'contact_id'
                 or plan.subject_id = t.pupil_id and plan.key_column = 'pupil_id')"""
    extra = " || ".join(
        f"coalesce(json_extract_string(t._extra, '$.{c}'), '') || '|'"
        for c in EXTRA_COLUMNS.values()
    )
    queries = {
        "upn": f"select t.upn from raw.pupils as t {planned_pupils}",
        "names": f"""select unnest([t.forename, t.surname]) from raw.pupils as t {planned_pupils}
                     union all select unnest([t.forename, t.surname])
                     from raw.pupil_contacts as t {deleted_contacts}""",
        "email": f"""select t.email from raw.pupils as t {planned_pupils}
                     union all select t.email from raw.pupil_contacts as t {deleted_contacts}
                     union all select t.email from raw.employees as t {planned_employees}""",
        "sen_notes": f"select t.notes from raw.sen_records as t {planned_pupils}",
        "extra": f"""select unnest(string_split({extra}, '|')) from (
                         select _extra, organisation_id, pupil_id from raw.pupils
                         union all select _extra, organisation_id, pupil_id from raw.sen_records
                         union all select _extra, organisation_id, pupil_id from raw.assessments
                         union all select _extra, organisation_id, pupil_id from raw.reports
                     ) as t {planned_pupils}
                     union all select json_extract_string(t._extra, '$.home_address')
                     from raw.employees as t {planned_employees}""",
    }
    con = duckdb.connect()
    scratch = tempfile.mkdtemp()
    try:
        con.execute("attach ? as b (read_only)", [str(before)])
        con.execute("attach ? as a (read_only)", [str(after)])
        con.execute("use a")
        # every string the warehouse still holds lawfully, catalogue text included
        texts = [
            "select sql from duckdb_views() where database_name = 'a'",
            "select column_name from duckdb_columns() where database_name = 'a'",
            "select table_name from duckdb_tables() where database_name = 'a'",
        ]
        for schema, table, column in con.execute(
            # tables only: a view's rows are not in the file (its SQL is, above)
            "select schema_name, table_name, column_name from duckdb_columns() as c "
            "where database_name = 'a' and data_type in ('VARCHAR', 'JSON') and exists ("
            "select 1 from duckdb_tables() as t where t.database_name = 'a' "
            "and t.schema_name = c.schema_name and t.table_name = c.table_name)"
        ).fetchall():
            texts.append(f'select cast("{column}" as varchar) from a."{schema}"."{table}"')
        kept = con.execute(
            "select distinct value from ("
            + " union all ".join(f"({q})" for q in texts)
            + ") as k(value) where value is not null"
        ).fetchall()
        # a value is still held lawfully if any kept text contains it: one Aho-Corasick pass
        # over all the kept text, NUL-separated (no candidate holds a NUL)
        kept_file = Path(scratch) / "kept_text.bin"
        kept_file.write_bytes("\x00".join(value for (value,) in kept).encode())
        con.execute("use b")
        found: dict[str, list[str]] = {}
        for kind, sql in queries.items():
            candidates = [
                v
                for (v,) in con.execute(
                    f"select distinct v from ({sql}) as c(v) "
                    "where v is not null and length(v) >= 6 order by v"
                ).fetchall()
            ]
            held = values_in_files([kept_file], candidates)
            found[kind] = [v for v in candidates if v not in held]
    finally:
        con.close()
        shutil.rmtree(scratch)
    return found


def test_no_erased_value_is_left_in_the_warehouse_file(applied: AppliedRun):
    erased = erased_values(applied.before, applied.after)
    for kind, values in erased.items():
        # one pass per file for all the values (tests/python/test_bytescan.py checks the scan)
        assert values, f"the synthetic trust has erased {kind}"
        assert values_in_files([applied.before], values), (
            f"{kind} values must be findable in the file before"
        )
        assert values_in_files([applied.after], values) == set(), kind
    assert not applied.after.with_name(applied.after.name + ".wal").exists()


def erased_upns(db: Path) -> list[str]:
    """UPNs of the pupils the plan anonymises: unique to their pupil, unlike names or postcodes
    that may still belong to someone kept."""
    return [
        v
        for (v,) in read(
            db,
            "select distinct p.upn from raw.pupils p join retention.retention_plan plan "
            "on plan.table_name = 'raw.pupils' and plan.organisation_id = p.organisation_id "
            "and plan.subject_id = p.pupil_id where p.upn is not null",
        )
    ]


def test_without_the_rewrite_erased_values_would_remain_until_the_next_run_finishes_it(
    wh: Path, monkeypatch
):
    """Guards the test above: DELETE/UPDATE + CHECKPOINT alone leave the values in the file.
    The next apply finishes the interrupted rewrite first, and says so."""
    erased = erased_upns(wh)
    real_finish = tasks.finish_erasure
    monkeypatch.setattr(tasks, "finish_erasure", lambda *args, **kwargs: [])
    tasks.apply_retention(AS_OF, dry_run=False, build=False)
    con = duckdb.connect(str(wh))
    con.execute("checkpoint")
    con.close()
    data = wh.read_bytes()
    assert any(value.encode() in data for value in erased)
    monkeypatch.setattr(tasks, "finish_erasure", real_finish)
    second = tasks.apply_retention(AS_OF, dry_run=False, build=False)
    report = format_result(second)
    assert second.finished_earlier_runs == 1 and second.steps == []
    assert "finished the pending file rewrite (queued or interrupted) of 1 earlier run(s)" in report
    assert "the warehouse is unchanged" not in report
    assert not [value for value in erased if value.encode() in wh.read_bytes()]
    assert read(
        wh,
        "select outcome, physically_erased_at is not null from audit.retention_runs "
        "order by started_at",
    ) == [("applied", True), ("nothing_due", False)]


def test_reload_after_apply_resurrects_nothing(applied: AppliedRun, after_apply: Path):
    planned = read(
        applied.before,
        "select distinct organisation_id, subject_kind, subject_id from retention.retention_plan",
    )
    result = load_extract(applied.extract)
    assert result.total("suppressed") > 0
    # nothing kept is changed back either (e.g. a report re-pointed at an erased author's id)
    assert result.total("inserted") == result.total("updated") == 0
    lookups = {
        "pupil": "select count(*) from raw.pupils where organisation_id = ? and pupil_id = ?",
        "pupil_contact": "select count(*) from raw.pupil_contacts where organisation_id = ? "
        "and contact_id = ?",
        "employee": "select count(*) from raw.employees where organisation_id = ? "
        "and employee_id = ?",
        "correspondence": "select count(*) from raw.correspondence where organisation_id = ? "
        "and correspondence_id = ?",
        "setup_import": "select count(*) from raw.setup_imports where organisation_id = ? "
        "and import_id = ?",
    }
    con = duckdb.connect(str(after_apply), read_only=True)
    try:
        back = [
            (kind, org, subject)
            for org, kind, subject in planned
            if con.execute(lookups[kind], [org, subject]).fetchone()[0]
        ]
        children = con.execute(
            "select count(*) from raw.attendance_sessions a semi join "
            "(select unnest(?) as organisation_id, unnest(?) as pupil_id) p "
            "using (organisation_id, pupil_id)",
            [
                [o for o, k, _ in planned if k == "pupil"],
                [s for _, k, s in planned if k == "pupil"],
            ],
        ).fetchone()[0]
    finally:
        con.close()
    assert back == []
    assert children == 0


def test_an_apply_for_another_date_leaves_every_view_that_embeds_the_date_on_that_date(
    wh: Path,
):
    """Finishing an erasure rebuilds what holds data and what embeds the evaluation date
    (tinytracker.tasks.FINISH_SELECTORS), not the views that only read what is below them: the
    DPO page's date and a trust share's contract check must agree with retention_status's."""
    later = "2025-10-08"  # the warehouse was built for 2025-10-01
    result = tasks.apply_retention(later, dry_run=False)
    assert result.steps and result.physically_erased
    dated = {
        relation: read(wh, f"select distinct cast(as_of as varchar) from {relation}")
        for relation in (
            "retention.retention_status",
            "reporting.rpt_dpo_evaluation",
            "sharing.trust_share_members",
        )
    }
    assert dated == dict.fromkeys(dated, [(later,)])


def test_every_model_that_embeds_the_evaluation_date_is_tagged_for_the_finish(
    synthetic_template: SyntheticTemplate,
):
    """A new model using macro as_of without tag as_of would keep its old date after an apply
    for another date, disagreeing with retention_status."""
    manifest = json.loads((synthetic_template.built_target / "manifest.json").read_text())
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    dated = [node for node in models if "macro.tinytracker.as_of" in node["depends_on"]["macros"]]
    assert {node["name"] for node in dated} >= {"retention_status", "rpt_dpo_evaluation"}
    assert [node["name"] for node in dated if "as_of" not in node["config"]["tags"]] == []
    assert "tag:as_of" in tasks.FINISH_SELECTORS
