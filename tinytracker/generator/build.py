"""Generate one synthetic extract folder: the stages in order, and the summary.

Randomness: one numpy Generator per stage, each seeded from ``(seed, stage number)``, so a
change in one stage does not shift the draws of the others; Faker pools are seeded from the
seed; attendance uses DuckDB ``hash(seed, ...)``. Nothing reads the clock or today's date
(timing is only reported), so the same options give byte-identical files. Determinism holds
for the locked versions of numpy, Faker, DuckDB and pyarrow (``uv.lock``): an upgrade of one
of them may change the bytes, never the validity.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from tinytracker.core.contract import LANDING_FILES
from tinytracker.core.errors import TinyTrackerError
from tinytracker.generator import attendance
from tinytracker.generator.assessments import build_assessments
from tinytracker.generator.config import GeneratorConfig
from tinytracker.generator.faults import InjectedError, inject
from tinytracker.generator.household import build_contacts, build_sen_records
from tinytracker.generator.names import NamePools
from tinytracker.generator.organisations import Organisation, build_organisations
from tinytracker.generator.progress import Progress
from tinytracker.generator.pupils import Pupils, build_pupils
from tinytracker.generator.records import build_correspondence, build_setup_imports
from tinytracker.generator.staff import build_employees, build_reports
from tinytracker.generator.writer import ChunkedFile, WrittenFile, contract_table, write_file


@dataclass
class GenerationSummary:
    """What a run wrote: files with row counts, the organisations, injected errors, time."""

    out: Path
    files: list[WrittenFile]
    organisations: list[Organisation]
    injected: list[InjectedError] = field(default_factory=list)
    seconds: float = 0.0

    def rows(self, name: str) -> int:
        return next(f.rows for f in self.files if f.name == name)

    def lines(self) -> list[str]:
        """The human summary printed by ``tinytracker generate``."""
        width = max(len(f.path.name) for f in self.files)
        out = [f"wrote {len(self.files)} files to {self.out} in {self.seconds:.1f}s"]
        for f in self.files:
            out.append(f"  {f.path.name:<{width}}  {f.rows:>12,} rows  {f.bytes / 1e6:>9.1f} MB")
        total_rows = sum(f.rows for f in self.files)
        total_bytes = sum(f.bytes for f in self.files)
        out.append(f"  {'total':<{width}}  {total_rows:>12,} rows  {total_bytes / 1e6:>9.1f} MB")
        states = ", ".join(f"{o.organisation_id} {o.state}" for o in self.organisations[:7])
        out.append(f"organisations: {len(self.organisations)} ({states}; the rest active)")
        if self.injected:
            out.append(f"injected {len(self.injected)} bad rows (each breaks one contract rule):")
            for e in self.injected:
                out.append(f"  {e.file}: {e.rule} ({e.organisation_id}) {e.detail}")
        return out


def _rng(seed: int, stage: int) -> np.random.Generator:
    return np.random.default_rng([seed, stage])


def _with_org_ids(table: dict[str, np.ndarray], orgs: list[Organisation]) -> dict[str, np.ndarray]:
    ids = np.array([o.organisation_id for o in orgs], dtype=object)
    return {**table, "organisation_id": ids[table["org_index"]]}


def _base_tables(orgs: list[Organisation], pupils: Pupils) -> dict[str, dict[str, np.ndarray]]:
    """The organisations and pupils files as numpy columns with ``org_index``."""
    tables: dict[str, dict[str, np.ndarray]] = {}
    tables["organisations"] = {
        "org_index": np.array([o.index for o in orgs]),
        "name": np.array([o.name for o in orgs], dtype=object),
        "organisation_type": np.array([o.organisation_type for o in orgs], dtype=object),
        "trust_id": np.array([o.trust_id for o in orgs], dtype=object),
        "contract_start": np.array([o.contract_start for o in orgs], dtype="datetime64[D]"),
        "contract_end": np.array(
            [o.contract_end or np.datetime64("NaT") for o in orgs], dtype="datetime64[D]"
        ),
        "anonymise_requested_on": np.array(
            [o.anonymise_requested_on or np.datetime64("NaT") for o in orgs], dtype="datetime64[D]"
        ),
        "mis_permission": np.array([o.mis_permission for o in orgs], dtype=object),
        "share_with_trust": np.array([o.share_with_trust for o in orgs], dtype=bool),
    }
    tables["pupils"] = {
        "org_index": pupils.org_index,
        "pupil_id": pupils.pupil_id,
        "upn": pupils.upn,
        "forename": pupils.forename,
        "surname": pupils.surname,
        "date_of_birth": pupils.date_of_birth,
        "gender": pupils.gender,
        "address": pupils.address,
        "postcode": pupils.postcode,
        "email": pupils.email,
        "phone": pupils.phone,
        "ethnicity": pupils.ethnicity,
        "first_language": pupils.first_language,
        "fsm_eligible": pupils.fsm_eligible,
        "sen_provision": pupils.sen_provision,
        "year_group": pupils.year_group,
        "admission_date": pupils.admission_date,
        "leaving_date": pupils.leaving_date,
    }
    return tables


BUILD_STEPS = (
    "organisations",
    "pupils",
    "contacts and SEN",
    "assessments",
    "employees and reports",
    "correspondence and setup imports",
)
"""The table-building steps, each one ``progress.step``; then the small files, one step per
organisation's attendance and a final "done"."""


def progress_steps(config: GeneratorConfig) -> int:
    """How many ``progress.step`` calls one run makes, so the bar ends at exactly 100%."""
    return len(BUILD_STEPS) + 1 + config.organisations + 1


def generate_extract(
    config: GeneratorConfig, progress: Progress | None = None
) -> GenerationSummary:
    """Write the extract described by ``config``; raises TinyTrackerError for bad options."""
    config.validate()
    started = time.monotonic()
    out = config.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TinyTrackerError(f"cannot create output folder {out}: {exc}") from exc
    progress = progress or Progress(1, enabled=False)
    progress.total = progress_steps(config)
    seed = config.seed

    pools = NamePools.build(seed)
    orgs = build_organisations(config, _rng(seed, 1), pools)
    progress.step(BUILD_STEPS[0], "building tables")
    pupils, families = build_pupils(orgs, config, _rng(seed, 2), pools)
    progress.step(BUILD_STEPS[1], "building tables")
    tables = _base_tables(orgs, pupils)
    tables["pupil_contacts"] = build_contacts(pupils, families, orgs, _rng(seed, 3), pools)
    tables["sen_records"] = build_sen_records(pupils, _rng(seed, 4), pools)
    progress.step(BUILD_STEPS[2], "building tables")
    tables["assessments"] = build_assessments(pupils, orgs, config, _rng(seed, 5))
    progress.step(BUILD_STEPS[3], "building tables")
    tables["employees"] = build_employees(orgs, pupils, config, _rng(seed, 6), pools)
    tables["reports"] = build_reports(pupils, tables["employees"], orgs, config, _rng(seed, 7))
    progress.step(BUILD_STEPS[4], "building tables")
    tables["correspondence"] = build_correspondence(
        pupils, tables["pupil_contacts"], tables["employees"], orgs, _rng(seed, 8)
    )
    tables["setup_imports"] = build_setup_imports(pupils, orgs, config, _rng(seed, 9))
    progress.step(BUILD_STEPS[5], "building tables")
    injected_rows, injected_attendance, log = inject(
        config.inject_errors, tables, pupils, orgs, config, _rng(seed, 10)
    )

    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = true")
        written: dict[str, WrittenFile] = {}
        for landing in LANDING_FILES:
            for suffix in (".csv", ".csv.gz", ".parquet"):  # every format the loader reads
                stale = out / f"{landing.name}{suffix}"
                stale.unlink(missing_ok=True)
        for landing in LANDING_FILES:
            if landing.name == "attendance_sessions":
                continue
            table = contract_table(landing.name, _with_org_ids(tables[landing.name], orgs))
            written[landing.name] = write_file(
                con,
                out,
                landing.name,
                table,
                injected_rows.get(landing.name, []),
                config.file_format,
            )
        progress.step("small files written", "writing files")
        attendance.register_inputs(con, pupils, orgs, config)
        injected_view = attendance.register_injected(con, injected_attendance)
        chunked = ChunkedFile(con, out, "attendance_sessions", config.file_format)
        for org in orgs:
            chunked.write_chunk(attendance.chunk_query(org.index, seed, injected_view))
            progress.step(f"attendance {org.organisation_id}", "attendance sessions")
        written["attendance_sessions"] = chunked.close()
        progress.step("done", "done")
    finally:
        con.close()
        progress.close()
    files = [written[f.name] for f in LANDING_FILES]
    return GenerationSummary(out, files, orgs, log, time.monotonic() - started)
