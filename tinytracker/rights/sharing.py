"""Export an academy trust's marts, for the members that consented, and log it.

The policy: "We do not share any pupil or employee data with any third parties without express
consent from the organisation first, an example of this could be sharing a organisation's data
with the academy chain that the organisation belongs to." What is shared is decided by dbt
(models/sharing: ``trust_share_members`` says which members are shared and why the others are
not; each ``trust_share_*`` relation is a mart restricted to them, tested by
tests/sharing). This module only exports what the built warehouse says, never rebuilds, and
checks every exported row once more against ``raw.organisations`` itself (consent true, same
trust) before anything is written: a broken model must fail closed, not leak.

Output: one CSV per shared mart (a trust opens them in a spreadsheet; suppressed cells are
empty with ``is_suppressed`` true) and ``manifest.json``: the trust, the members included, the
members left out with the reason, the files with their rows and columns. ``audit.shares`` gets
one row per export: organisation ids, file names and row counts, who and when; no personal
data (the marts hold none).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tinytracker.core import schema, warehouse
from tinytracker.core.dates import utc_now
from tinytracker.core.errors import RefusedError, TinyTrackerError
from tinytracker.core.operator import operator
from tinytracker.core.warehouse import relation_exists, scalar

SHARING_SCHEMA = "sharing"
MEMBERS_RELATION = "trust_share_members"
SHARE_PREFIX = "trust_share_"
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = "1.0"

REASON_WORDS = {
    "no_consent": "share_with_trust consent is not recorded",
    "contract_ended": "the organisation's contract has ended",
}


@dataclass(frozen=True)
class Member:
    organisation_id: str
    organisation_name: str | None
    is_shared: bool
    exclusion_reason: str | None
    mis_permission: str | None

    @property
    def exclusion_words(self) -> str | None:
        """Why the member is left out, in words (the reason code when there are none)."""
        if self.exclusion_reason is None:
            return None
        return REASON_WORDS.get(self.exclusion_reason, self.exclusion_reason)


@dataclass(frozen=True)
class SharedFile:
    file_name: str
    relation: str
    rows: int
    columns: tuple[str, ...]


@dataclass
class ShareResult:
    share_id: str
    trust_id: str
    out_dir: Path
    members_as_of: dt.date | None
    included: list[Member] = field(default_factory=list)
    excluded: list[Member] = field(default_factory=list)
    files: list[SharedFile] = field(default_factory=list)
    exported_by: str = ""
    exported_at: dt.datetime | None = None

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def _members(con: duckdb.DuckDBPyConnection, trust_id: str) -> tuple[list[Member], dt.date | None]:
    if not relation_exists(con, SHARING_SCHEMA, MEMBERS_RELATION):
        raise TinyTrackerError(
            f"{SHARING_SCHEMA}.{MEMBERS_RELATION} is not built: build the warehouse first "
            "(tinytracker build)"
        )
    rows = con.execute(
        f"select organisation_id, organisation_name, is_shared, exclusion_reason, "
        f"mis_permission, as_of from {SHARING_SCHEMA}.{MEMBERS_RELATION} "
        "where trust_id = ? order by organisation_id",
        [trust_id],
    ).fetchall()
    if not rows:
        known = [
            t
            for (t,) in con.execute(
                f"select distinct trust_id from {SHARING_SCHEMA}.{MEMBERS_RELATION} order by 1"
            ).fetchall()
        ]
        raise RefusedError(
            f"unknown trust {trust_id!r}: no organisation in the warehouse belongs to it "
            f"(trusts: {', '.join(known) or 'none'})"
        )
    return [Member(*row[:5]) for row in rows], rows[0][5]


def _share_relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every built share relation (models/sharing/trust_share_*), members list aside."""
    return [
        name
        for (name,) in con.execute(
            "select view_name from duckdb_views() where schema_name = ? "
            "union select table_name from duckdb_tables() where schema_name = ? order by 1",
            [SHARING_SCHEMA, SHARING_SCHEMA],
        ).fetchall()
        if name.startswith(SHARE_PREFIX) and name != MEMBERS_RELATION
    ]


def _check_out_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TinyTrackerError(
            f"--out {out} exists and is not an empty folder: give a new folder (a share is "
            "never written over other files)"
        )


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def share_trust(trust_id: str, out: Path, *, exported_by: str | None = None) -> ShareResult:
    """Export the trust's share relations into the new folder ``out``; see the module doc.

    Raises :class:`RefusedError` when no member of the trust may be shared (nothing written,
    nothing logged) and :class:`TinyTrackerError` for an unknown trust or an unbuilt warehouse.
    """
    trust_id = (trust_id or "").strip()
    out = Path(out)
    _check_out_dir(out)
    con = warehouse.connect()
    try:
        schema.ensure_schema(con)
        members, as_of = _members(con, trust_id)
        result = ShareResult(
            share_id=str(uuid.uuid4()),
            trust_id=trust_id,
            out_dir=out,
            members_as_of=as_of,
            included=[m for m in members if m.is_shared],
            excluded=[m for m in members if not m.is_shared],
            exported_by=operator(exported_by),
        )
        if not result.included:
            reasons = "; ".join(
                f"{m.organisation_id}: {m.exclusion_words}" for m in result.excluded
            )
            raise RefusedError(
                f"trust {trust_id}: no member organisation may be shared ({reasons}); "
                "nothing was exported"
            )
        relations = _share_relations(con)
        if not relations:
            raise TinyTrackerError(
                "no share relation is built (models/sharing): run tinytracker build"
            )
        created = not out.exists()
        out.mkdir(parents=True, exist_ok=True)
        try:
            _export(con, result, relations)
            result.exported_at = utc_now()
            _write_manifest(result)
            con.execute(
                "insert into audit.shares values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    result.share_id,
                    trust_id,
                    [m.organisation_id for m in result.included],
                    [m.organisation_id for m in result.excluded],
                    [f.file_name for f in result.files] + [MANIFEST_NAME],
                    result.rows,
                    as_of,
                    result.exported_by,
                    result.exported_at,
                ],
            )
        except BaseException:
            if created:
                shutil.rmtree(out, ignore_errors=True)
            else:
                for leftover in out.iterdir():
                    leftover.unlink()
            raise
    finally:
        con.close()
    return result


def _export(con: duckdb.DuckDBPyConnection, result: ShareResult, relations: list[str]) -> None:
    """One CSV per relation, after re-checking each row's consent in raw.organisations."""
    for relation in relations:
        con.execute(
            f"create or replace temp table share_rows as select * "
            f'from {SHARING_SCHEMA}."{relation}" where trust_id = ?',
            [result.trust_id],
        )
        offending = con.execute(
            """
            select distinct share_rows.organisation_id
            from share_rows
            left join raw.organisations as organisations
                on share_rows.organisation_id = organisations.organisation_id
            where organisations.share_with_trust is not true
                or organisations.trust_id is distinct from share_rows.trust_id
            """
        ).fetchall()
        allowed = {m.organisation_id for m in result.included}
        stray = {
            org
            for (org,) in con.execute("select distinct organisation_id from share_rows").fetchall()
        } - allowed
        if offending or stray:
            bad = sorted({org for (org,) in offending} | stray)
            raise RefusedError(
                f"{SHARING_SCHEMA}.{relation} holds rows of organisation(s) {', '.join(bad)} "
                "that have not consented to sharing with this trust; nothing was exported "
                "(fix the model; dbt test tests/sharing fails too)"
            )
        file_name = relation.removeprefix(SHARE_PREFIX) + ".csv"
        columns = tuple(d[0] for d in con.execute("select * from share_rows limit 0").description)
        target = result.out_dir / file_name
        pending = target.with_name(target.name + ".partial")
        con.execute(
            f"copy (select * from share_rows order by all) to {_quote_path(pending)} "
            "(format csv, header true)"
        )
        os.replace(pending, target)
        rows = scalar(con, "select count(*) from share_rows")
        result.files.append(SharedFile(file_name, f"{SHARING_SCHEMA}.{relation}", rows, columns))
    con.execute("drop table if exists share_rows")


def manifest(result: ShareResult) -> dict:
    """``manifest.json``: what was shared with whom, what was left out and why."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "share_id": result.share_id,
        "trust_id": result.trust_id,
        "exported_at": result.exported_at.isoformat(timespec="seconds") + "Z"
        if result.exported_at
        else None,
        "exported_by": result.exported_by,
        "members_as_of": result.members_as_of.isoformat() if result.members_as_of else None,
        "included": [
            {"organisation_id": m.organisation_id, "name": m.organisation_name}
            for m in result.included
        ],
        "excluded": [
            {
                "organisation_id": m.organisation_id,
                "name": m.organisation_name,
                "reason": m.exclusion_reason,
                "explanation": REASON_WORDS.get(m.exclusion_reason or "", ""),
            }
            for m in result.excluded
        ],
        "files": [
            {
                "file": f.file_name,
                "relation": f.relation,
                "rows": f.rows,
                "columns": list(f.columns),
            }
            for f in result.files
        ],
        "notes": [
            "Aggregates only: every row is a group of pupils of one organisation; cells from "
            "fewer than the minimum cell size are suppressed (measures empty, is_suppressed "
            "true). No row is about one pupil or employee.",
            "Only members whose share_with_trust consent is recorded and whose contract runs "
            "are included; each exported row was checked against the recorded consent.",
            "Service usage (fct_service_usage) is cross-organisation and is not shared.",
        ],
    }


def _write_manifest(result: ShareResult) -> None:
    target = result.out_dir / MANIFEST_NAME
    pending = target.with_name(target.name + ".partial")
    pending.write_text(json.dumps(manifest(result), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(pending, target)


def format_result(result: ShareResult) -> str:
    """What the CLI prints: members in and out (and why), files and rows, the audit row."""
    lines = [
        f"share {result.share_id}: trust {result.trust_id} -> {result.out_dir} "
        f"(members as of {result.members_as_of})"
    ]
    lines += [
        f"  included  {m.organisation_id}  {m.organisation_name or ''}"
        + (
            "  (MIS permission revoked: collection stopped; consent to share stands)"
            if m.mis_permission == "revoked"
            else ""
        )
        for m in result.included
    ]
    lines += [
        f"  left out  {m.organisation_id}  {m.organisation_name or ''}: {m.exclusion_words}"
        for m in result.excluded
    ]
    lines += [f"  {f.file_name:<32} {f.rows:>9,} rows" for f in result.files]
    lines.append(f"  {MANIFEST_NAME} lists members, reasons and columns; logged in audit.shares")
    return "\n".join(lines)
