"""What analysts read: the marts copied out of the warehouse into their own read-only file."""
