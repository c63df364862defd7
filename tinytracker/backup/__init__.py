"""Backups of the warehouse: consistent snapshots, pruning by the policy's period, and a
restore that re-erases everyone erased since the snapshot."""
