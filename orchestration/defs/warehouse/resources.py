"""The warehouse file as a resource: the same env ``TINYTRACKER_DB`` that dbt's profile reads.

The path is resolved when a step runs (not when the definitions load), so a test or an
operator can point a run at another file by setting ``TINYTRACKER_DB`` alone.
"""

from pathlib import Path

import dagster as dg
import duckdb

from tinytracker.core import schema
from tinytracker.core import paths
from tinytracker.core import warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse every load, build, retention run and backup works on."""

    def path(self) -> Path:
        return paths.db_path()

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the file, waiting briefly for DuckDB's lock (see ``warehouse.connect``)."""
        return warehouse.connect(self.path(), read_only=read_only)

    def ensure_sources(self) -> None:
        """Create the raw, audit and bookkeeping tables dbt reads as sources, if missing."""
        con = self.connect()
        try:
            schema.ensure_schema(con)
        finally:
            con.close()


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"warehouse": WarehouseResource()})
