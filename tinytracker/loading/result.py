"""What a load did, per file and in total, as data (for Dagster) and as text (for people)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

COUNT_COLUMNS = ("read", "inserted", "updated", "unchanged", "quarantined", "refused", "suppressed")
STATUS_LOADED = "loaded"
STATUS_PARTIAL = "partially_loaded"
"""Some rows were quarantined, refused or suppressed; everything else was loaded."""


@dataclass(frozen=True)
class QuarantinedLine:
    """One quarantined row as the load report lists it: where, which rule, never its values."""

    line: int | None
    rule: str
    detail: str | None = None
    """Only for ``malformed_row``: what is wrong with the line (it names no value)."""
    earlier_load_id: str | None = None
    """Set when the row was already quarantined by that load (same file, same bytes)."""


@dataclass(frozen=True)
class QuarantineCounts:
    """What the quarantine step did for one file."""

    broken: int
    """Rows that broke a contract rule."""
    malformed: int
    """Lines the CSV reader could not split into the header's columns."""
    already: int = 0
    """Of those, rows already in raw.quarantine from an earlier load of the same file."""
    examples: tuple[QuarantinedLine, ...] = ()
    earlier_load_ids: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.broken + self.malformed


@dataclass(frozen=True)
class FileResult:
    """One landing file of one load (one row of ``raw.load_log``)."""

    file_name: str
    """The file as it arrived, e.g. ``pupils.csv``."""
    landing_file: str
    checksum: str
    read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    refused: int
    suppressed: int
    already_quarantined: int = 0
    """Of ``quarantined``, rows not added again: an earlier load of the same bytes has them."""
    quarantine_examples: tuple[QuarantinedLine, ...] = ()
    """The first few quarantined rows by line (for the report)."""
    quarantine_load_ids: tuple[str, ...] = ()
    """Loads whose raw.quarantine rows hold this file's quarantined rows."""

    @property
    def status(self) -> str:
        exceptions = self.quarantined + self.refused + self.suppressed
        return STATUS_PARTIAL if exceptions else STATUS_LOADED

    def count(self, name: str) -> int:
        return int(getattr(self, name))


@dataclass(frozen=True)
class RefusedOrganisation:
    """An organisation whose MIS permission is revoked: nothing of it was stored."""

    organisation_id: str
    name: str | None
    rows: int


@dataclass(frozen=True)
class LoadResult:
    """Everything ``tinytracker load`` reports; returned by :func:`load_extract`."""

    load_id: str
    extract_path: Path
    db_path: Path
    files: list[FileResult] = field(default_factory=list)
    refused_organisations: list[RefusedOrganisation] = field(default_factory=list)
    revocations_recorded: list[str] = field(default_factory=list)
    """Organisations this extract revoked that were granted in the warehouse until now."""

    def total(self, name: str) -> int:
        return sum(f.count(name) for f in self.files)

    @property
    def refused(self) -> bool:
        return bool(self.refused_organisations)

    def file(self, landing_file: str) -> FileResult:
        for result in self.files:
            if result.landing_file == landing_file:
                return result
        raise KeyError(landing_file)


def format_result(result: LoadResult) -> str:
    """The per-file table, a total line and what to do next."""
    rows: list[tuple[str, ...]] = [("file", *COUNT_COLUMNS)]
    rows += [(f.file_name, *(str(f.count(c)) for c in COUNT_COLUMNS)) for f in result.files]
    rows.append(("total", *(str(result.total(c)) for c in COUNT_COLUMNS)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        f"Loaded {result.extract_path} into {result.db_path} (load_id {result.load_id})",
        "",
    ]
    for index, row in enumerate(rows):
        if index == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        cells = [row[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    lines += _quarantine_lines(result)
    suppressed = result.total("suppressed")
    if suppressed:
        lines += [
            "",
            f"{suppressed} row(s) suppressed: their subjects were erased by a "
            "retention run or request and are not loaded again.",
        ]
    if result.revocations_recorded:
        lines += [
            "",
            "MIS permission revoked by this extract (recorded in raw.organisations): "
            + ", ".join(result.revocations_recorded),
        ]
    if result.refused_organisations:
        lines += ["", "Refused: MIS permission is revoked, nothing was stored for:"]
        for org in result.refused_organisations:
            lines.append(
                f"  {org.organisation_id}  {org.name or '(no name)'}  ({org.rows} row(s) refused)"
            )
    return "\n".join(lines)


def _quarantine_lines(result: LoadResult) -> list[str]:
    """Per file with quarantined rows: the first few as ``file:line  rule``, then the query.

    Only the rule and, for a malformed line, what is wrong with it are printed: the values
    (names, UPNs) stay in raw.quarantine.
    """
    quarantined = result.total("quarantined")
    if not quarantined:
        return []
    lines = ["", f"{quarantined} row(s) quarantined (not loaded):"]
    load_ids: set[str] = set()
    for f in result.files:
        if not f.quarantined:
            continue
        load_ids.update(f.quarantine_load_ids)
        for example in f.quarantine_examples:
            where = f"{f.file_name}:{example.line}" if example.line is not None else f.file_name
            text = f"  {where}  {example.rule}"
            if example.detail:
                text += f" ({example.detail.removeprefix(example.rule + ': ')})"
            lines.append(text)
        more = f.quarantined - len(f.quarantine_examples)
        if more > 0:
            lines.append(f"  {f.file_name}: {more} more")
    already = result.total("already_quarantined")
    if already:
        lines.append(
            f"{already} of them were already in raw.quarantine from an earlier load "
            "of the same file and were not added again."
        )
    listed = sorted(load_ids)
    condition = (
        f"load_id = '{listed[0]}'"
        if len(listed) == 1
        else "load_id in (" + ", ".join(f"'{i}'" for i in listed) + ")"
    )
    lines += [
        "See them all, with details and raw values, with:",
        f"  select * from raw.quarantine where {condition} order by file_name, line_number",
    ]
    return lines
