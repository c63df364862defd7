"""What the data-protection officer reads: the state of the warehouse and of the policy."""
