"""Organisation instructions outside the extract: early anonymisation requests and MIS
permission, through `tinytracker organisation`, with their audit trail and their effects on
the next retention run and the next load.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from tinytracker import tasks
from tinytracker.cli.main import main
from tinytracker.erasure.result import action_date
from tinytracker.erasure.transaction import DRY_RUN_SCHEMA
from tinytracker.loading import organisations, upsert
from tinytracker.loading.run import load_extract

from conftest import SYNTHETIC_AS_OF, SyntheticTemplate


def read(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def active_organisation(db: Path) -> str:
    """An organisation with a running contract, no request, permission granted, live pupils."""
    return read(
        db,
        """
        select organisation_id from raw.organisations as o
        where contract_end is null and anonymise_requested_on is null
            and mis_permission = 'granted'
            and exists (select 1 from raw.pupils as p where p.organisation_id = o.organisation_id
                        and p.anonymised_on is null and p.leaving_date is null)
        order by 1 limit 1""",
    )[0][0]


@pytest.fixture
def wh(synthetic_warehouse: Path) -> Path:
    return synthetic_warehouse


def test_request_anonymisation_makes_the_next_run_anonymise_its_pupils(wh, capsys):
    org = active_organisation(wh)
    on_roll = {
        p
        for (p,) in read(
            wh,
            "select pupil_id from raw.pupils where organisation_id = ? and anonymised_on is null",
            [org],
        )
    }
    assert (
        main(
            [
                "organisation",
                "request-anonymisation",
                "--organisation",
                org,
                "--on",
                "2025-09-15",
                "--by",
                "dpo",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "anonymise_requested_on null -> 2025-09-15" in out
    assert "the first retention run on or after 2025-09-15" in out
    plan = tasks.apply_retention(SYNTHETIC_AS_OF, dry_run=True, build=True)
    assert plan.steps
    # a building dry run writes its plan to its own schema (retention.* stays as the DPO saw it)
    planned = {
        p
        for (p,) in read(
            wh,
            f"select subject_id from "
            f"{DRY_RUN_SCHEMA}.retention_plan where "
            "organisation_id = ? and table_name = 'raw.pupils'",
            [org],
        )
    }
    assert planned == on_roll
    due = read(
        wh,
        "select distinct due_on, triggered_by from retention.retention_status "
        "where organisation_id = ? and rule_id = 'pupils_2y_after_contract'",
        [org],
    )
    assert due == [(dt.date(2025, 9, 15), "anonymise_requested_on")]
    assert read(
        wh,
        "select organisation_id, change, column_name, old_value, new_value, "
        "changed_by from audit.organisation_changes",
    ) == [(org, "request_anonymisation", "anonymise_requested_on", None, "2025-09-15", "dpo")]


def test_a_request_can_be_brought_forward_but_not_postponed(wh, capsys):
    org = active_organisation(wh)
    assert (
        main(["organisation", "request-anonymisation", "--organisation", org, "--on", "2026-01-31"])
        == 0
    )
    assert (
        main(["organisation", "request-anonymisation", "--organisation", org, "--on", "2026-03-01"])
        == 3
    )
    assert "not postponed" in capsys.readouterr().err
    assert (
        main(["organisation", "request-anonymisation", "--organisation", org, "--on", "2026-01-31"])
        == 0
    )
    assert "nothing changed" in capsys.readouterr().out
    assert (
        main(["organisation", "request-anonymisation", "--organisation", org, "--on", "2025-12-01"])
        == 0
    )
    assert read(
        wh, "select anonymise_requested_on from raw.organisations where organisation_id = ?", [org]
    ) == [(dt.date(2025, 12, 1),)]
    assert read(wh, "select count(*) from audit.organisation_changes")[0][0] == 2


def test_revoked_permission_refuses_loads_and_keeps_the_data_under_the_rules(
    wh, synthetic_template: SyntheticTemplate, capsys
):
    org = active_organisation(wh)
    tables = ("raw.pupils", "raw.attendance_sessions", "raw.correspondence")
    counts = {
        t: read(wh, f"select count(*) from {t} where organisation_id = ?", [org])[0][0]
        for t in tables
    }
    statuses = read(
        wh, "select count(*) from retention.retention_status where organisation_id = ?", [org]
    )[0][0]
    assert main(["organisation", "revoke-permission", "--organisation", org, "--by", "dpo"]) == 0
    assert "mis_permission granted -> revoked" in capsys.readouterr().out

    # a load (here through the CLI, exit 3) refuses the organisation and loads the others
    assert main(["load", str(synthetic_template.extract)]) == 4
    err = capsys.readouterr().err
    assert "MIS permission revoked" in err and org in err
    # an extract saying 'granted' cannot re-grant it; the data stays and stays under the rules
    assert read(
        wh, "select mis_permission from raw.organisations where organisation_id = ?", [org]
    ) == [("revoked",)]
    assert {
        t: read(wh, f"select count(*) from {t} where organisation_id = ?", [org])[0][0]
        for t in tables
    } == counts
    assert (
        read(
            wh, "select count(*) from retention.retention_status where organisation_id = ?", [org]
        )[0][0]
        == statuses
    )

    assert main(["organisation", "grant-permission", "--organisation", org, "--by", "dpo"]) == 0
    assert "mis_permission revoked -> granted" in capsys.readouterr().out
    result = load_extract(synthetic_template.extract)
    assert org not in {r.organisation_id for r in result.refused_organisations}
    assert read(
        wh,
        "select change, old_value, new_value from audit.organisation_changes order by changed_at",
    ) == [("revoke_permission", "granted", "revoked"), ("grant_permission", "revoked", "granted")]


def test_unknown_organisation_is_a_clear_error(wh, capsys):
    for args in (
        ["revoke-permission", "--organisation", "ORG-NONE"],
        ["grant-permission", "--organisation", "ORG-NONE"],
        ["request-anonymisation", "--organisation", "ORG-NONE", "--on", "2025-01-01"],
    ):
        assert main(["organisation", *args]) == 3
        err = capsys.readouterr().err
        assert "unknown organisation 'ORG-NONE'" in err and "Traceback" not in err
    assert read(wh, "select count(*) from audit.organisation_changes")[0][0] == 0


def test_organisation_changes_hold_no_personal_data(wh):
    org = active_organisation(wh)
    assert main(["organisation", "revoke-permission", "--organisation", org]) == 0
    assert (
        main(["organisation", "request-anonymisation", "--organisation", org, "--on", "2025-01-01"])
        == 0
    )
    logged = {str(v) for row in read(wh, "select * from audit.organisation_changes") for v in row}
    people = {
        str(v)
        for (v,) in read(
            wh,
            "select unnest([pupil_id, upn, forename, surname]) from raw.pupils "
            "where organisation_id = ? union all select unnest([employee_id, forename, "
            "surname, email]) from raw.employees where organisation_id = ?",
            [org, org],
        )
        if v is not None
    }
    assert not logged & people


def test_a_restore_keeps_later_revocations_and_requests(wh, tmp_path):
    """For restore.py: the replaced warehouse's instructions win over an older snapshot's."""
    org = active_organisation(wh)
    snapshot = tmp_path / "snapshot.duckdb"
    shutil.copy(wh, snapshot)
    assert main(["organisation", "revoke-permission", "--organisation", org]) == 0
    assert (
        main(["organisation", "request-anonymisation", "--organisation", org, "--on", "2025-11-01"])
        == 0
    )
    con = duckdb.connect(str(snapshot))
    try:
        con.execute("attach ? as replaced (read_only)", [str(wh)])
        assert upsert.carry_over_instructions(con, "replaced") == 1
        assert con.execute(
            "select mis_permission, anonymise_requested_on from raw.organisations "
            "where organisation_id = ?",
            [org],
        ).fetchall() == [("revoked", dt.date(2025, 11, 1))]
    finally:
        con.close()


def test_sensor_helper_lists_revoked_organisations_without_waiting(wh):
    org = active_organisation(wh)
    before = organisations.revoked_organisation_ids(wh)
    assert before is not None and org not in before
    assert main(["organisation", "revoke-permission", "--organisation", org]) == 0
    assert org in organisations.revoked_organisation_ids(wh)
    writer = duckdb.connect(str(wh))  # another process would hold the lock; here: same file
    try:
        busy = organisations.revoked_organisation_ids(wh)
    finally:
        writer.close()
    assert busy is None or org in busy


def test_sensor_skips_an_extract_whose_every_organisation_is_revoked(wh, tmp_path):
    org = active_organisation(wh)
    single = tmp_path / "single"
    single.mkdir()
    (single / "organisations.csv").write_text(
        "organisation_id,name,organisation_type,trust_id,contract_start,contract_end,"
        f"anonymise_requested_on,mis_permission,share_with_trust\n{org},X,school,,,,,granted,\n"
    )
    assert organisations.revoked_only_reason(single, wh) is None
    assert main(["organisation", "revoke-permission", "--organisation", org]) == 0
    reason = organisations.revoked_only_reason(single, wh)
    assert reason is not None and org in reason and "not loaded" in reason
    # an extract that also carries a granted organisation, or none at all, is loaded as usual
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    lines = (single / "organisations.csv").read_text().splitlines()
    (mixed / "organisations.csv").write_text(
        "\n".join([*lines, lines[1].replace(org, "ORG-OTHER", 1)]) + "\n"
    )
    assert organisations.revoked_only_reason(mixed, wh) is None
    assert organisations.revoked_only_reason(tmp_path, wh) is None


def test_a_reload_keeps_the_customers_request(wh, synthetic_template: SyntheticTemplate):
    org = active_organisation(wh)
    assert (
        main(["organisation", "request-anonymisation", "--organisation", org, "--on", "2025-09-15"])
        == 0
    )
    load_extract(synthetic_template.extract)
    assert read(
        wh, "select anonymise_requested_on from raw.organisations where organisation_id = ?", [org]
    ) == [(dt.date(2025, 9, 15),)]


def test_the_sensor_loads_a_skipped_extract_once_permission_is_granted_again(
    wh, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys
):
    import dagster as dg

    from orchestration.defs.landing.sensors import landing_sensor

    org = active_organisation(wh)
    monkeypatch.setenv("TINYTRACKER_LANDING_DIR", str(tmp_path / "landing"))
    folder = tmp_path / "landing" / "only-one-school"
    folder.mkdir(parents=True)
    (folder / "organisations.csv").write_text(
        "organisation_id,name,organisation_type,trust_id,contract_start,contract_end,"
        f"anonymise_requested_on,mis_permission,share_with_trust\n{org},X,school,,,,,granted,\n"
    )
    (folder / "_READY").touch()
    assert main(["organisation", "revoke-permission", "--organisation", org]) == 0

    skipped = landing_sensor(dg.build_sensor_context())
    assert not skipped.run_requests
    still = landing_sensor(dg.build_sensor_context(cursor=skipped.cursor))
    assert not still.run_requests  # still revoked: still skipped, not forgotten

    assert main(["organisation", "grant-permission", "--organisation", org]) == 0
    granted = landing_sensor(dg.build_sensor_context(cursor=still.cursor))
    (request,) = granted.run_requests
    assert request.run_key.startswith("only-one-school:")
    assert not landing_sensor(dg.build_sensor_context(cursor=granted.cursor)).run_requests


def test_request_anonymisation_then_a_real_apply_anonymises_the_pupils_for_good(
    wh, synthetic_template: SyntheticTemplate, tmp_path, capsys
):
    org = active_organisation(wh)
    pupil, letters = read(
        wh,
        """
        select p.pupil_id, count(m.correspondence_id) from raw.pupils as p
        inner join raw.correspondence as m on m.organisation_id = p.organisation_id
            and m.subject_kind = 'pupil' and m.subject_id = p.pupil_id
        where p.organisation_id = ? and p.anonymised_on is null
        group by 1 order by 1 limit 1""",
        [org],
    )[0]
    on_roll = read(
        wh,
        "select count(*) from raw.pupils where organisation_id = ? and anonymised_on is null",
        [org],
    )[0][0]
    assert (
        main(["organisation", "request-anonymisation", "--organisation", org, "--on", "2025-09-15"])
        == 0
    )
    assert main(["retention", "apply", "--as-of", SYNTHETIC_AS_OF.isoformat()]) == 0
    capsys.readouterr()

    assert read(
        wh,
        "select count(*), count(*) filter (where anonymised_on is not null "
        "and upn is null and forename is null), count(*) filter (where "
        "anonymised_by_rule_id = 'pupils_2y_after_contract') "
        "from raw.pupils where organisation_id = ?",
        [org],
    )[0][:2] == (on_roll, on_roll)
    assert (
        read(
            wh,
            "select count(*) from raw.pupils where organisation_id = ? and "
            "anonymised_by_rule_id = 'pupils_2y_after_contract'",
            [org],
        )[0][0]
        > 0
    )
    assert read(
        wh,
        "select count(*), count(surrogate_id) from audit.erasure_suppressions "
        "where organisation_id = ? and subject_kind = 'pupil'",
        [org],
    ) == [(on_roll, 0)]
    # the next extract brings none of them back
    load_extract(synthetic_template.extract)
    assert read(
        wh,
        "select count(*) from raw.pupils where organisation_id = ? and anonymised_on is null",
        [org],
    ) == [(0,)]
    # correspondence is kept under its own rule: an access request by the MIS id shows it
    bundle = tmp_path / "sar"
    assert main(["sar", "--organisation", org, "--pupil", pupil, "--out", str(bundle)]) == 0
    assert f"erased on {action_date()}" in capsys.readouterr().out
    assert (bundle / "sar.json").read_text().count('"correspondence_id"') == 1
    assert read(
        wh,
        "select count(*) from raw.correspondence where organisation_id = ? "
        "and subject_kind = 'pupil' and subject_id = ?",
        [org, pupil],
    ) == [(letters,)]
