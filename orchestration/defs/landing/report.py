"""What a load did, as metadata and a warning line (plain functions, tested without Dagster)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tinytracker.loading.result import COUNT_COLUMNS, LoadResult


def load_metadata(result: LoadResult) -> dict[str, object]:
    refused = [org.organisation_id for org in result.refused_organisations]
    return {
        "load_id": result.load_id,
        "extract": str(result.extract_path),
        "warehouse": str(result.db_path),
        "files": len(result.files),
        **{f"rows_{name}": result.total(name) for name in COUNT_COLUMNS},
        "refused_organisations": ", ".join(refused) if refused else "none",
        "revocations_recorded": ", ".join(result.revocations_recorded) or "none",
    }


def refusal_warning(result: LoadResult) -> str | None:
    """One line naming the organisations refused for revoked MIS permission, or None."""
    if not result.refused:
        return None
    names = "; ".join(
        f"{org.organisation_id} {org.name or '(no name)'} ({org.rows} rows)"
        for org in result.refused_organisations
    )
    return (
        f"MIS permission revoked: nothing was stored for {names}. Every other "
        "organisation of the extract was loaded."
    )


def load_events(result: LoadResult, base: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """A materialization of each ``raw/<table>`` source a load stored rows in (or found
    unchanged): what the Dagster load job and a CLI load both report."""
    import dagster as dg

    for file in result.files:
        yield dg.AssetMaterialization(
            ["raw", file.landing_file],
            metadata={
                **(base or {}),
                "load_id": result.load_id,
                "file": file.file_name,
                **{name: file.count(name) for name in COUNT_COLUMNS},
            },
        )
