"""What a load did, as metadata and a warning line (plain functions, tested without Dagster)."""

from __future__ import annotations

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
