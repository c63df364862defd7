"""Two commands at once: the second waits its turn, or says the warehouse is busy; never a
raw DuckDB traceback, and never an apply left half-done by a build that slipped in."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from helpers import TT, file_holds, read


def start(*args: str, wait: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TINYTRACKER_LOCK_WAIT_SECONDS": wait}
    return subprocess.Popen(
        [*TT, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def upns_due(db: Path) -> list[str]:
    return [
        str(u)
        for (u,) in read(
            db,
            """
        select p.upn from retention.retention_plan as plan inner join raw.pupils as p
            on p.organisation_id = plan.organisation_id and p.pupil_id = plan.subject_id
        where plan.table_name = 'raw.pupils' and p.upn is not null""",
        )
    ]


@pytest.mark.long
def test_a_build_started_during_an_apply_waits_its_turn(
    synthetic_template, synthetic_warehouse: Path
) -> None:
    db = synthetic_warehouse
    as_of = synthetic_template.as_of.isoformat()
    erased = upns_due(db)
    apply = start("retention", "apply", "--as-of", as_of, wait="300")
    time.sleep(2)
    build = start("build", "--as-of", as_of, wait="300")

    applied_out, applied_err = apply.communicate(timeout=600)
    built_out, built_err = build.communicate(timeout=600)

    assert apply.returncode == 0, applied_err
    assert build.returncode == 0, built_err
    for err in (applied_err, built_err):
        assert "Traceback" not in err and "IO Error" not in err
    assert not file_holds(db, erased)


def test_a_second_apply_that_cannot_wait_says_busy_and_changes_nothing(
    synthetic_template, synthetic_warehouse: Path
) -> None:
    as_of = synthetic_template.as_of.isoformat()
    first = start("retention", "apply", "--as-of", as_of, wait="300")
    time.sleep(2)
    second = start("retention", "apply", "--as-of", as_of, wait="1")

    _, second_err = second.communicate(timeout=600)
    _, first_err = first.communicate(timeout=600)

    assert first.returncode == 0, first_err
    assert second.returncode == 75, second_err
    assert "is busy" in second_err and "retention apply" in second_err
    assert "Traceback" not in second_err and len(second_err.splitlines()) == 1
    runs = read(
        synthetic_warehouse, "select count(*) from audit.retention_runs where outcome = 'applied'"
    )
    assert runs == [(1,)]
