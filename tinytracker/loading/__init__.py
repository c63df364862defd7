"""The loader: one MIS extract folder into schema ``raw``, by the landing contract.

Set-based throughout: DuckDB reads each file in one pass, validates it with SQL and upserts it
with one MERGE, all in one transaction. See ``run.load_extract`` for the entry point that the
CLI (``tinytracker load``) and Dagster call.
"""

from tinytracker.loading.result import FileResult, LoadResult, RefusedOrganisation, format_result
from tinytracker.loading.run import load_extract

__all__ = ["FileResult", "LoadResult", "RefusedOrganisation", "format_result", "load_extract"]
