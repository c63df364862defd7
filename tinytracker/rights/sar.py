"""Subject Access Request: everything the warehouse holds about one pupil or one employee.

The policy promises to "share data with the data subject at the request of this individual in
compliance with a Subject Access Request". The customer is the controller: it receives the
bundle and answers the person. So the bundle is written to a folder for the controller
(``sar.json``, machine-readable, one section per table, and ``sar.html``, a readable summary)
and never into the warehouse; ``audit.subject_requests`` records only that a request was
answered, when, and its due date.

What is "about" the person is decided in :mod:`tinytracker.rights.subjects` (the same rules
erasure uses). Each section is one SQL query over a warehouse relation, filtered by the
subject's scope; Python only serialises the result rows. Relations dbt derives (retention
status and plan, the pseudonymised intermediate tables) are included when built. Every table
that can hold a person's row is either a section or named in ``not_included`` with the reason.

A person already erased is not "unknown" while the warehouse still holds something about them:
the record of an author whose name the policy keeps (and the reports they wrote), setup-import
rows an erasure left, correspondence kept under its own rule. The bundle then lists exactly
that, says when and how the person was erased, and leaves out their anonymised record (which
nothing may link back to them). Only when nothing is held is the request refused.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from tinytracker.core import schema, warehouse
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.operator import operator
from tinytracker.rights import requests
from tinytracker.rights.lookup import erased_error, find_subject
from tinytracker.rights.sar_bundle import SarResult, bundle, collect_sections
from tinytracker.rights.sar_html import render_html
from tinytracker.rights.subjects import UnknownSubjectError, build_scope, still_held

SAR_KINDS = ("pupil", "employee")


def _check_out_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TinyTrackerError(
            f"--out {out} exists and is not an empty folder: give a new folder (a SAR bundle "
            "is never written over other files)"
        )


def _write(path: Path, text: str) -> None:
    pending = path.with_name(path.name + ".partial")
    pending.write_text(text, encoding="utf-8")
    os.replace(pending, path)


def subject_access_request(
    kind: str,
    organisation_id: str,
    subject_id: str,
    out: Path,
    *,
    received_on: dt.date | None = None,
    handled_by: str | None = None,
) -> SarResult:
    """Write the SAR bundle for one pupil or employee into the new folder ``out``.

    Raises :class:`UnknownSubjectError` (recorded in audit.subject_requests, no folder
    written) when the warehouse identifies no such person.
    """
    if kind not in SAR_KINDS:
        raise TinyTrackerError(
            f"a subject access request is about a pupil or an employee, not {kind!r}"
        )
    out = Path(out)
    _check_out_dir(out)
    con = warehouse.connect()
    try:
        schema.ensure_schema(con)
        request = requests.new_request(
            "access", kind, organisation_id, received_on, operator(handled_by)
        )
        try:
            subject = find_subject(con, kind, organisation_id, subject_id, erased_ok=True)
            if subject.is_erased:
                held = still_held(con, subject)
                if not held:
                    raise erased_error(subject, held)
        except UnknownSubjectError as exc:
            requests.record(con, request, exc.status)
            raise
        build_scope(con, subject)
        sections, not_built = collect_sections(con, subject)
        result = SarResult(request=request, subject=subject, out_dir=out, sections=sections)
        con.execute("begin transaction")
        try:
            result.request = requests.record(con, request, "completed")
            data = bundle(result, not_built, dt.datetime.now(dt.UTC).replace(tzinfo=None))
            out.mkdir(parents=True, exist_ok=True)
            _write(result.json_path, json.dumps(data, ensure_ascii=False, indent=1))
            _write(result.html_path, render_html(data, result))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            for leftover in (result.json_path, result.html_path):
                leftover.unlink(missing_ok=True)
            raise
    finally:
        con.close()
    return result


def format_result(result: SarResult) -> str:
    """What the CLI prints: where the bundle is, rows per section, the request and its due date."""
    subject = result.subject
    erased = (
        f" (erased on {subject.erased_on}, {subject.erased_by}: what is still held)"
        if subject.is_erased
        else ""
    )
    lines = [
        f"subject access request {result.request.request_id}: {subject.label} "
        f"{subject.subject_id} of {subject.organisation_id}{erased}",
        f"  received {result.request.received_on}, due {result.request.due_on}, completed "
        f"{result.request.completed_on}",
        f"  bundle: {result.json_path} and {result.html_path} (personal data: give it to the "
        "controller only; it is not kept in the warehouse)",
    ]
    width = max(len(s.name) for s in result.sections)
    lines += [f"  {s.name:<{width}}  {len(s.rows):>7,} row(s)" for s in result.sections]
    return "\n".join(lines)
