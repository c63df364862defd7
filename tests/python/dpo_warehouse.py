"""A small known warehouse with something in every section of the DPO page.

The session's synthetic trust (conftest ``synthetic_template``), then, through the same
`tinytracker` commands a DPO runs: a legal hold on a pupil whose reason names the pupil, an
organisation hold, a late and an on-time subject access request, an erasure request, a share
with the academy trust, a revoked MIS permission, a retention apply for today, and finally
`tinytracker report --html`. It also keeps every name, UPN and MIS id the extract held
(taken before anything was erased), which the page must never show.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli.main import main
from tinytracker.core.dates import london_today

from conftest import SyntheticTemplate, point_environment_at

OPERATOR = "dpo-operator"


@dataclass(frozen=True)
class DpoWarehouse:
    root: Path
    db: Path
    as_of: dt.date
    report_dir: Path
    held_pupil_surname: str
    people: dict[str, set[str]]  # full_names, surnames, upns, mis_ids, emails


def _people(db: Path) -> dict[str, set[str]]:
    with duckdb.connect(str(db), read_only=True) as con:

        def values(sql: str) -> set[str]:
            return {str(v) for (v,) in con.execute(sql).fetchall() if v}

        persons = (
            "select forename, surname, email from raw.pupils union all "
            "select forename, surname, email from raw.pupil_contacts union all "
            "select forename, surname, email from raw.employees"
        )
        return {
            "full_names": values(f"select forename || ' ' || surname from ({persons})"),
            "surnames": values(f"select surname from ({persons})"),
            "emails": values(f"select email from ({persons})"),
            "upns": values("select upn from raw.pupils"),
            "mis_ids": values(
                "select pupil_id from raw.pupils union all select contact_id from "
                "raw.pupil_contacts union all select employee_id from raw.employees"
            ),
        }


def _pick(db: Path, sql: str) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(sql).fetchone()
    assert row, sql
    return row


def _run(*argv: str) -> None:
    code = main(list(argv))
    assert code in (0, 3), f"tinytracker {' '.join(argv)} exited {code}"


@pytest.fixture(scope="session")
def dpo_warehouse(
    synthetic_template: SyntheticTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DpoWarehouse]:
    root = tmp_path_factory.mktemp("dpo_report")
    db = root / "warehouse" / "tinytracker.duckdb"
    db.parent.mkdir()
    shutil.copy(synthetic_template.db, db)
    people = _people(db)
    today = london_today()
    on_roll = (
        "select p.organisation_id, p.pupil_id, p.surname from raw.pupils p "
        "join raw.organisations o using (organisation_id) "
        "where p.leaving_date is null and p.anonymised_on is null and o.contract_end is null "
        "and o.organisation_id = '{org}' order by p.pupil_id limit 1 offset {offset}"
    )
    held_org, held_pupil, held_surname = _pick(db, on_roll.format(org="ORG001", offset=0))
    erased_org, erased_pupil, _ = _pick(db, on_roll.format(org="ORG001", offset=1))
    sar_org, sar_pupil, _ = _pick(db, on_roll.format(org="ORG007", offset=0))
    employee_org, employee = _pick(
        db,
        "select organisation_id, employee_id from raw.employees where leaving_date is null "
        "and organisation_id = 'ORG001' order by employee_id limit 1",
    )
    with pytest.MonkeyPatch.context() as env:
        point_environment_at(env, synthetic_template.root, db)
        env.setenv("DBT_TARGET_PATH", str(root / "target"))
        _run(
            "hold", "add", "--organisation", held_org, "--pupil", held_pupil,
            "--reason", "complaint", "--ticket", "CASE-17", "--by", OPERATOR,
        )  # fmt: skip
        # a hold recorded by an older version, whose free-text reason names the family: the
        # page must withhold it (the CLI now refuses free text)
        con = duckdb.connect(str(db))
        con.execute(
            "update audit.legal_holds set reason = ? where subject_id = ?",
            [f"complaint by the {held_surname} family, see file", held_pupil],
        )
        con.close()
        _run(
            "hold", "add", "--organisation", "ORG006", "--reason", "insurance_claim",
            "--by", OPERATOR,
        )  # fmt: skip
        _run(
            "sar", "--organisation", sar_org, "--pupil", sar_pupil,
            "--out", str(root / "sar-late"), "--by", OPERATOR,
            "--received", (today - dt.timedelta(days=45)).isoformat(),
        )  # fmt: skip
        _run(
            "sar", "--organisation", employee_org, "--employee", employee,
            "--out", str(root / "sar-on-time"), "--by", OPERATOR,
            "--received", (today - dt.timedelta(days=3)).isoformat(),
        )  # fmt: skip
        _run(
            "erase", "--organisation", erased_org, "--pupil", erased_pupil,
            "--reason", "controller_request", "--apply", "--by", OPERATOR,
        )  # fmt: skip
        _run("share", "--trust", "TR001", "--out", str(root / "share"), "--by", OPERATOR)
        _run("organisation", "revoke-permission", "--organisation", "ORG004", "--by", OPERATOR)
        _run("retention", "apply", "--as-of", today.isoformat())
        _run("report", "--html", "--out", str(root / "report"))
    yield DpoWarehouse(root, db, today, root / "report", held_surname, people)
