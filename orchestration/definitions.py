"""Dagster entry point: everything lives under ``orchestration/defs/<area>/``."""

import dagster as dg

import orchestration.defs

defs = dg.load_defs(defs_root=orchestration.defs)
