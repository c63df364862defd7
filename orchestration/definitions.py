"""Dagster entry point: everything lives under ``orchestration/defs/<area>/``."""

import os

import dagster as dg

import orchestration.defs

# Every file a run creates (warehouse, WAL, backups, ledger, reports) holds personal data or may:
# owner-only, whatever umask the daemon or webserver was started with. dbt inherits it.
os.umask(0o077)

defs = dg.load_defs(defs_root=orchestration.defs)
