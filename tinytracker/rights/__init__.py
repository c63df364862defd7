"""Data-subject rights and sharing: the policy's "other clauses that are features".

- :mod:`.sar`: a Subject Access Request bundle (everything held about one pupil or employee);
- :mod:`.erasure`: erasure on the controller's request, through the retention engine;
- :mod:`.organisations`: early anonymisation requests and MIS permission, changed by the CLI;
- :mod:`.sharing`: consent-gated export of a trust's marts.

The logic lives here as plain functions (commands in ``tinytracker/cli`` only parse
arguments and print), so tests and Dagster can call it without the CLI. Every request is
recorded in an ``audit`` table that holds no personal data.
"""
