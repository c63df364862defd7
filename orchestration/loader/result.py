"""What a load did, per file and in total, as data (for Dagster) and as text (for people)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

COUNT_COLUMNS = ("read", "inserted", "updated", "unchanged", "quarantined", "refused",
                 "suppressed")
STATUS_LOADED = "loaded"
STATUS_PARTIAL = "partially_loaded"
"""Some rows were quarantined, refused or suppressed; everything else was loaded."""


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
    rows = [("file", *COUNT_COLUMNS)]
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
    quarantined = result.total("quarantined")
    if quarantined:
        lines += [
            "",
            f"{quarantined} row(s) quarantined (not loaded). See them with:",
            f"  select * from raw.quarantine where load_id = '{result.load_id}'",
        ]
    suppressed = result.total("suppressed")
    if suppressed:
        lines += ["", f"{suppressed} row(s) suppressed: their subjects were erased by a "
                  "retention run or request and are not loaded again."]
    if result.revocations_recorded:
        lines += ["", "MIS permission revoked by this extract (recorded in raw.organisations): "
                  + ", ".join(result.revocations_recorded)]
    if result.refused_organisations:
        lines += ["", "Refused: MIS permission is revoked, nothing was stored for:"]
        for org in result.refused_organisations:
            lines.append(f"  {org.organisation_id}  {org.name or '(no name)'}  "
                         f"({org.rows} row(s) refused)")
    return "\n".join(lines)
