"""retention.retention_plan: the row-level work due on as_of (logic: tinytracker.retention)."""

from tinytracker.erasure.plan import build_retention_plan, statuses_as_of


def model(dbt, session):
    dbt.config(materialized="table")
    # dbt finds sources by reading these literal calls, so every table the mapping names is here
    tables = {
        "raw.pupils": dbt.source("raw", "pupils"),
        "raw.pupil_contacts": dbt.source("raw", "pupil_contacts"),
        "raw.attendance_sessions": dbt.source("raw", "attendance_sessions"),
        "raw.assessments": dbt.source("raw", "assessments"),
        "raw.sen_records": dbt.source("raw", "sen_records"),
        "raw.reports": dbt.source("raw", "reports"),
        "raw.employees": dbt.source("raw", "employees"),
        "raw.correspondence": dbt.source("raw", "correspondence"),
        "raw.setup_imports": dbt.source("raw", "setup_imports"),
        "raw.quarantine": dbt.source("raw", "quarantine"),
    }
    statuses = dbt.ref("retention_status")
    return build_retention_plan(
        statuses=statuses,
        actions=dbt.ref("retention_actions"),
        tables=tables,
        as_of=statuses_as_of(statuses, session),
        con=session,
    )
