"""Nightly backup: a consistent snapshot of the warehouse, then backups past the policy's
backup period (seeds/policy/retention_general_clauses.csv) pruned."""
