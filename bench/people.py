"""The stages where a person waits: dbt's start-up for a new date, and one erasure request.

- ``dbt_start``: ``tinytracker build --as-of D --select stg_organisations`` for two dates the
  warehouse was never built for, each a fresh process. The figure is the time from spawning the
  command to dbt starting its first node (run_results.json ``timing``), and whether dbt said it
  had to parse the whole project again ("Unable to do partial parsing").
- ``erase_request``: ``tinytracker erase --pupil ... --apply`` for a few pupils (the default:
  the person's rows and their derived rows now, the file rewrite queued), then
  ``erase_finish``: the next ``tinytracker retention apply``, which finishes the queued
  erasures (dbt run, publish, rewrite) as the nightly run would.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path

from bench.measure import StageResult

REPARSE_MARK = "Unable to do partial parsing"


def first_node_seconds(target: Path, spawned_at: float) -> float | None:
    """Seconds from spawning the command to dbt starting its first node (epoch clocks)."""
    path = target / "run_results.json"
    if not path.exists():
        return None
    starts = [
        dt.datetime.fromisoformat(timing["started_at"].replace("Z", "+00:00")).timestamp()
        for result in json.loads(path.read_text())["results"]
        for timing in result.get("timing", [])
        if timing.get("started_at")
    ]
    return round(min(starts) - spawned_at, 2) if starts else None


def log_since(log: Path, offset: int) -> str:
    with open(log, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace")


def dbt_start(
    stage: Callable[..., StageResult], tt: str, as_of: dt.date, target: Path, logs: Path
) -> dict[str, object]:
    """Two builds of one model for dates never built before; see the module docstring.

    ``logs`` is dbt's own log file (DBT_LOG_PATH/dbt.log): dbt writes its parse messages
    there even when the parse is quiet on the terminal."""
    runs = []
    for days in (1, 2):
        day = (as_of + dt.timedelta(days=days)).isoformat()
        offset = logs.stat().st_size if logs.exists() else 0
        perf_info = target / "perf_info.json"
        perf_info.unlink(missing_ok=True)
        spawned_at = time.time()
        result = stage(
            f"dbt_start_{days}", [tt, "build", "--as-of", day, "--select", "stg_organisations"]
        )
        runs.append(
            {
                "as_of": day,
                "wall_seconds": result.wall_seconds,
                "to_first_node_seconds": first_node_seconds(target, spawned_at),
                "reparsed": REPARSE_MARK in log_since(logs, offset),
                "files_parsed": (
                    json.loads(perf_info.read_text()).get("parsed_path_count")
                    if perf_info.exists()
                    else None
                ),
            }
        )
    return {"runs": runs}


def pupils_to_erase(query: Callable[[str], list[tuple]], count: int) -> list[tuple[str, str]]:
    """Living pupils with a UPN and attendance, of organisations with MIS permission and no
    standing hold: the requests a school would send."""
    rows = query(
        f"""
        select p.organisation_id, p.pupil_id from raw.pupils as p
        inner join raw.organisations as o using (organisation_id)
        where p.anonymised_on is null and p.upn is not null
            and o.mis_permission is distinct from 'revoked'
            and (o.contract_end is null or o.contract_end >= current_date)
            and not exists (select 1 from audit.legal_holds as h
                            where h.released_at is null
                            and h.organisation_id = p.organisation_id)
            and exists (select 1 from raw.attendance_sessions as a
                        where a.organisation_id = p.organisation_id
                        and a.pupil_id = p.pupil_id)
        order by hash(p.organisation_id || p.pupil_id)
        limit {count}
        """
    )
    return [(str(org), str(pupil)) for org, pupil in rows]


def erase_requests(
    stage: Callable[..., StageResult],
    tt: str,
    pupils: list[tuple[str, str]],
    as_of: dt.date,
) -> dict[str, object]:
    """One request per pupil (queued rewrite), then the run that finishes them."""
    walls = []
    for number, (organisation, pupil) in enumerate(pupils, start=1):
        result = stage(
            f"erase_request_{number}",
            [
                tt,
                "erase",
                "--organisation",
                organisation,
                "--pupil",
                pupil,
                "--reason",
                "controller_request",
                "--ticket",
                f"BENCH-{number}",
                "--apply",
            ],
        )
        walls.append(result.wall_seconds)
    finish = stage("erase_finish", [tt, "retention", "apply", "--as-of", as_of.isoformat()])
    return {
        "requests": len(walls),
        "wall_seconds": walls,
        "mean_seconds": round(sum(walls) / len(walls), 2) if walls else None,
        "finish_seconds": finish.wall_seconds,
    }
