"""Retention policy as code: the plan the statuses call for, legal holds, the schedule doc."""
