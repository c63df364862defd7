"""Attendance marks built set-based in DuckDB: pupils x school days x AM/PM.

About 38 million rows for 100,000 pupils and one year, so no Python loop ever touches a
session. Each organisation is one chunk: its pupils are joined to the school-day calendar
between their first and last day on roll (inside the window and up to the extract date), and
the mark is chosen from hash-based uniforms ``hash(seed, k, pupil, date[, session])`` compared
with per-pupil thresholds drawn in numpy. The same seed therefore gives the same marks
whatever the thread count, and the explicit ORDER BY gives the same bytes.

The mark model (codes valid on the session date; the 2024 set from 19 August 2024):
- INSET days: ``#`` for everyone; a rare unplanned closure (snow day): ``Y`` / ``Y4``.
- Dual-registered pupils: ``D`` on Wednesdays. Part-time nursery children: ``X`` every PM.
- A day is an absence day with the pupil's absence rate (skewed: most pupils rarely miss a
  day, about 15-20% miss 10%+, about 2% miss half or more). Unauthorised share grows with
  the absence rate and FSM. Authorised reasons: mostly ``I`` (illness), then ``M`` (a medical
  appointment, AM only), ``C``, ``R``, ``E``, ``T``, pre-2024 ``H``, 2024-set ``C1``/``C2``/``J1``.
- Otherwise present (``/`` AM, ``\\`` PM), with ``L`` (late; the commonest non-present
  attending code), some ``U``, approved activities ``V P B`` (``K`` from 2024, ``J`` before)
  and a very few ``-`` (no mark).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from tinytracker.generator.calendar import school_days_array
from tinytracker.generator.config import GeneratorConfig
from tinytracker.generator.organisations import Organisation
from tinytracker.generator.pupils import Pupils
from tinytracker.generator.reference import new_code_set_from

MILLION = 1_000_000


def register_inputs(
    con: duckdb.DuckDBPyConnection,
    pupils: Pupils,
    orgs: list[Organisation],
    config: GeneratorConfig,
) -> None:
    """Register the calendar and per-pupil thresholds as DuckDB views (Arrow-backed)."""
    days, inset = school_days_array(config.window_start_year, config.current_academic_year)
    keep = days <= np.datetime64(config.extract_date, "D")
    calendar = pa.table(
        {
            "session_date": pa.array(days[keep], type=pa.date32()),
            "is_inset": pa.array(inset[keep]),
        }
    )
    window_start = np.datetime64(config.window_start, "D")
    first = np.maximum(pupils.admission_date, window_start)
    last = np.minimum(pupils.last_on_roll, np.datetime64(config.extract_date, "D"))
    on_roll = first <= last
    idx = np.flatnonzero(on_roll)
    org_ids = np.array([o.organisation_id for o in orgs], dtype=object)
    params = pa.table(
        {
            "org_index": pa.array(pupils.org_index[idx].astype(np.int32)),
            "pupil_idx": pa.array(idx.astype(np.int64)),
            "organisation_id": pa.array(list(org_ids[pupils.org_index[idx]]), type=pa.string()),
            "pupil_id": pa.array(list(pupils.pupil_id[idx]), type=pa.string()),
            "first_day": pa.array(first[idx], type=pa.date32()),
            "last_day": pa.array(last[idx], type=pa.date32()),
            "absent_below": pa.array((pupils.absence_rate[idx] * MILLION).astype(np.int64)),
            "unauthorised_below": pa.array(
                (pupils.unauthorised_share[idx] * MILLION).astype(np.int64)
            ),
            "late_below": pa.array((pupils.late_rate[idx] * MILLION).astype(np.int64)),
            "part_time": pa.array(pupils.part_time[idx]),
            "dual": pa.array(pupils.dual_registered[idx]),
        }
    )
    con.register("gen_att_calendar", calendar)
    con.register("gen_att_pupils", params)


def chunk_query(org_index: int, seed: int, injected_source: str | None = None) -> str:
    """Ordered attendance rows (contract columns as text) for one organisation."""
    new_from = new_code_set_from().isoformat()
    injected = ""
    if injected_source:
        injected = f"""
        union all
        select organisation_id, pupil_id, session_date, session, mark,
               pupil_idx, ord_date, sno, 1 as injected
        from {injected_source} where org_index = {org_index}"""
    return f"""
    with days as (
        select p.*, c.session_date, c.is_inset,
               c.session_date >= date '{new_from}' as new_set,
               hash({seed}, 1, p.pupil_idx, c.session_date) % {MILLION} as u_day,
               hash({seed}, 2, p.pupil_idx, c.session_date) % {MILLION} as u_reason,
               hash({seed}, 3, p.org_index, c.session_date) % 1000 as u_closure,
               dayofweek(c.session_date) as weekday
        from gen_att_pupils as p
        join gen_att_calendar as c
          on c.session_date between p.first_day and p.last_day
        where p.org_index = {org_index}
    ),
    sessions as (
        select d.*, s.session, s.sno,
               hash({seed}, 4, d.pupil_idx, d.session_date, s.sno) % {MILLION} as u_session,
               (d.u_reason % 1000) as sub
        from days as d
        cross join (values ('AM', 0), ('PM', 1)) as s(session, sno)
    ),
    marked as (
        select organisation_id, pupil_id, session_date, session, sno, pupil_idx,
            case
                when is_inset then '#'
                when u_closure < 3 then case when new_set then 'Y4' else 'Y' end
                when dual and weekday = 3 then 'D'
                when part_time and sno = 1 then 'X'
                when u_day < absent_below then
                    case
                        when u_reason < unauthorised_below then
                            case when sub < 500 then 'O' when sub < 800 then 'N' else 'G' end
                        when sub < 700 then 'I'
                        when sub < 790 then case when sno = 0 then 'M'
                                                 else '\\' end
                        when sub < 840 then 'C'
                        when sub < 880 then case when new_set then 'C' else 'H' end
                        when sub < 910 then 'R'
                        when sub < 925 then 'E'
                        when sub < 935 then 'T'
                        when sub < 950 then case when new_set then 'C2' else 'C' end
                        when sub < 955 then case when new_set then 'C1' else 'C' end
                        when sub < 960 then case when new_set then 'J1' else 'J' end
                        when sub >= 995 then case when new_set then 'Y1' else 'Y' end
                        else 'I'
                    end
                when u_session
                    < (case when sno = 0 then late_below else late_below // 8 end) then 'L'
                when u_session < late_below + 2500 and sno = 0 then 'U'
                when u_session % 10000 < 40 then 'V'
                when u_session % 10000 < 55 then 'P'
                when u_session % 10000 < 65 then 'B'
                when u_session % 10000 < 70 then case when new_set then 'K' else 'J' end
                when u_session % 100000 < 8 then '-'
                when sno = 0 then '/'
                else '\\'
            end as mark
        from sessions
    )
    select organisation_id, pupil_id, session_date, session, mark from (
        select organisation_id, pupil_id, cast(session_date as varchar) as session_date,
               session, mark, pupil_idx, session_date as ord_date, sno, 0 as injected
        from marked
        {injected}
    )
    order by pupil_idx, ord_date, sno, injected
    """


def register_injected(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> str | None:
    """Register injected attendance rows; returns the view name to pass to chunk_query."""
    if not rows:
        return None
    table = pa.table(
        {
            "org_index": pa.array([r["org_index"] for r in rows], type=pa.int32()),
            "pupil_idx": pa.array([r["pupil_idx"] for r in rows], type=pa.int64()),
            "ord_date": pa.array([r["ord_date"] for r in rows], type=pa.date32()),
            "sno": pa.array([r["sno"] for r in rows], type=pa.int32()),
            **{
                c: pa.array([r.get(c) for r in rows], type=pa.string())
                for c in ("organisation_id", "pupil_id", "session_date", "session", "mark")
            },
        }
    )
    con.register("gen_att_injected", table)
    return "gen_att_injected"
