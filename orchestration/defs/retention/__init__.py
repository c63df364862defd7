"""Retention runs under Dagster: the 02:00 apply, hand-launched dry runs, the after-apply check."""
