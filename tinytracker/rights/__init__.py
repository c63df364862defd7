"""Data-subject rights and sharing: the policy's "other clauses that are features".

- :mod:`.subjects`: who a request is about and which rows are about them (the scope both
  access and erasure use); :mod:`.lookup` resolves the id a request names;
- :mod:`.sar`: a Subject Access Request bundle (everything held about one pupil or employee):
  its sections (:mod:`.sar_sections`), ``sar.json`` (:mod:`.sar_bundle`), ``sar.html``
  (:mod:`.sar_html`);
- :mod:`.erasure`: erasure on the controller's request, through the retention engine; its
  refusals (:mod:`.erasure_checks`) and what the CLI prints (:mod:`.erasure_output`);
- :mod:`.requests`: the audit row of every request;
- :mod:`.sharing`: consent-gated export of a trust's marts.

Early anonymisation requests and MIS permission are the loader's
(:mod:`tinytracker.loading.organisations`).

The logic lives here as plain functions (commands in ``tinytracker/cli`` only parse
arguments and print), so tests and Dagster can call it without the CLI. Every request is
recorded in an ``audit`` table that holds no personal data.
"""
