"""Benchmark harness: the pipeline at trust scale, the SQL floor and a per-subject eraser."""
