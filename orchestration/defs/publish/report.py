"""What a publish wrote, as plain metadata values (tested without Dagster)."""

from __future__ import annotations

from tinytracker.publishing.publish import PublishResult


def publish_metadata(result: PublishResult) -> dict[str, object]:
    return {
        "analytics_db": str(result.analytics_db),
        "parquet_dir": str(result.parquet_dir),
        "tables": len(result.row_counts),
        **{f"rows.{table}": rows for table, rows in result.row_counts.items()},
    }
