"""Organisation-level instructions the CLI records outside any extract.

Two clauses of the policy are instructions from the customer rather than data in its MIS:

- **early anonymisation** ("or if the customer requests for this to be done sooner"): the
  request date goes into ``raw.organisations.anonymise_requested_on``, which rule
  ``pupils_2y_after_contract`` reads as its due date, so the next retention run on or after
  that date anonymises every pupil of the organisation;
- **MIS permission** ("this permission can be revoked ... at any time"): ``mis_permission``
  goes to ``revoked`` (the loader then refuses every extract of the organisation and an
  extract can never re-grant it) or back to ``granted``. Revoking stops collection only: the
  data already held stays under the retention rules, like any other.

Each change is one transaction that updates the organisation and appends a row to
``audit.organisation_changes`` (old and new value, who, when): no personal data. An early
anonymisation request can be brought forward but not postponed or withdrawn here, the same
rule the loader follows (it keeps the earliest date), so a customer's request is never undone
by accident.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from tinytracker.core import paths
from tinytracker.core.dates import utc_now
from tinytracker.core.errors import RefusedError
from tinytracker.core.operator import operator
from tinytracker.core.warehouse import require_organisation, scalar
from tinytracker.loading.upsert import set_organisation_column

GRANTED = "granted"
REVOKED = "revoked"


@dataclass(frozen=True)
class OrganisationChange:
    """One requested change and what it did (``changed`` False: it was already so)."""

    organisation_id: str
    organisation_name: str
    change: str
    column_name: str
    old_value: str | None
    new_value: str | None
    changed: bool
    changed_by: str
    change_id: str | None = None
    standing_holds: int = 0


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _apply(
    con: duckdb.DuckDBPyConnection,
    organisation_id: str,
    change: str,
    column: str,
    new_value: object,
    changed_by: str | None,
    validate: Callable[[Any, Any], None] = lambda old, new: None,
) -> OrganisationChange:
    """Set ``column`` of the organisation to ``new_value`` and audit it, in one transaction."""
    name = require_organisation(con, organisation_id)
    who = operator(changed_by)
    holds = scalar(
        con,
        "select count(*) from audit.legal_holds where organisation_id = ? "
        "and subject_kind = 'organisation' and released_at is null",
        [organisation_id],
    )
    con.execute("begin transaction")
    try:
        old = scalar(
            con,
            f"select {column} from raw.organisations where organisation_id = ?",
            [organisation_id],
        )
        validate(old, new_value)
        if old == new_value:
            con.execute("rollback")
            return OrganisationChange(
                organisation_id,
                name,
                change,
                column,
                _text(old),
                _text(new_value),
                False,
                who,
                None,
                holds,
            )
        set_organisation_column(con, organisation_id, column, new_value)
        change_id = str(uuid.uuid4())
        con.execute(
            "insert into audit.organisation_changes values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                change_id,
                organisation_id,
                change,
                column,
                _text(old),
                _text(new_value),
                who,
                utc_now(),
            ],
        )
        con.execute("commit")
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        raise
    return OrganisationChange(
        organisation_id,
        name,
        change,
        column,
        _text(old),
        _text(new_value),
        True,
        who,
        change_id,
        holds,
    )


def request_anonymisation(
    con: duckdb.DuckDBPyConnection, organisation_id: str, on: dt.date, changed_by: str | None = None
) -> OrganisationChange:
    """Record the customer's request to anonymise its pupils from ``on`` (earliest wins)."""

    def not_later(old: dt.date | None, new: dt.date) -> None:
        if old is not None and new > old:
            raise RefusedError(
                f"{organisation_id} already asked for anonymisation on {old}; a request can be "
                f"brought forward but not postponed to {new} (the loader also keeps the "
                "earliest date). If the customer withdrew the request, correct it in the "
                "warehouse deliberately and record why."
            )

    return _apply(
        con,
        organisation_id,
        "request_anonymisation",
        "anonymise_requested_on",
        on,
        changed_by,
        not_later,
    )


def set_mis_permission(
    con: duckdb.DuckDBPyConnection,
    organisation_id: str,
    granted: bool,
    changed_by: str | None = None,
) -> OrganisationChange:
    """Grant or revoke collection from the organisation's MIS."""
    change = "grant_permission" if granted else "revoke_permission"
    return _apply(
        con, organisation_id, change, "mis_permission", GRANTED if granted else REVOKED, changed_by
    )


def revoked_organisation_ids(db: Path | None = None) -> frozenset[str] | None:
    """Organisations whose MIS permission is revoked, or None when the warehouse is busy.

    For the landing sensor, which must not wait on (or take) the warehouse's write lock: it
    opens read-only without waiting and gives up at once if a load or build holds the lock;
    the loader still refuses the organisation in that case.
    """
    path = db or paths.db_path()
    if not path.exists():
        return frozenset()
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        return frozenset(
            organisation_id
            for (organisation_id,) in con.execute(
                "select organisation_id from raw.organisations where mis_permission = ?", [REVOKED]
            ).fetchall()
        )
    except duckdb.CatalogException:
        return frozenset()
    finally:
        con.close()


def extract_organisation_ids(folder: Path) -> frozenset[str] | None:
    """Organisations an extract folder is for, read from its ``organisations`` file.

    None when the folder has no readable organisations file: the caller cannot tell, so it
    must not skip the extract (the loader still refuses revoked organisations row by row).
    """
    for name, reader in (
        ("organisations.csv", "read_csv"),
        ("organisations.parquet", "read_parquet"),
    ):
        path = Path(folder) / name
        if not path.is_file():
            continue
        options = ", all_varchar = true, header = true" if reader == "read_csv" else ""
        con = duckdb.connect()
        try:
            rows = con.execute(
                f"select distinct trim(cast(organisation_id as varchar)) "
                f"from {reader}(?{options}) where organisation_id is not null",
                [str(path)],
            ).fetchall()
        except duckdb.Error:
            return None
        finally:
            con.close()
        return frozenset(organisation_id for (organisation_id,) in rows) or None
    return None


def revoked_only_reason(folder: Path, db: Path | None = None) -> str | None:
    """Why the landing sensor may skip this extract, or None to load it as usual.

    Skipped only when every organisation it is for is revoked in the warehouse: a load would
    store nothing and exit non-zero. Anything uncertain (warehouse busy, no organisations
    file) loads, and the loader refuses what it must.
    """
    revoked = revoked_organisation_ids(db)
    if not revoked:
        return None
    organisations = extract_organisation_ids(folder)
    if not organisations or not organisations <= revoked:
        return None
    return (
        f"MIS permission revoked for {', '.join(sorted(organisations))}: extract "
        f"{Path(folder).name} not loaded (tinytracker organisation grant-permission "
        "--organisation ORG to collect again)"
    )


def format_change(change: OrganisationChange) -> str:
    """What the CLI prints: the change (or that there was none) and what follows from it."""
    who = f"{change.organisation_id} ({change.organisation_name})"
    if not change.changed:
        return f"{who}: {change.column_name} is already {change.new_value}; nothing changed"
    lines = [
        f"{who}: {change.column_name} {change.old_value or 'null'} -> {change.new_value} "
        f"(by {change.changed_by}; audit.organisation_changes {change.change_id})"
    ]
    if change.change == "request_anonymisation":
        lines.append(
            f"  the first retention run on or after {change.new_value} anonymises "
            "every pupil of the organisation (rule pupils_2y_after_contract)"
        )
    elif change.change == "revoke_permission":
        lines.append(
            "  loads for it are refused from now on (an extract cannot re-grant it); "
            "the data already held stays under the retention rules"
        )
    else:
        lines.append("  its extracts load again from the next load")
    if change.standing_holds:
        lines.append(
            f"  note: {change.standing_holds} legal hold(s) stand on the organisation; "
            "nothing of it is anonymised or deleted until they are released"
        )
    return "\n".join(lines)
