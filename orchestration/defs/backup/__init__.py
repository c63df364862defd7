"""Nightly backup: a consistent snapshot of the warehouse, then backups past 90 days pruned."""
