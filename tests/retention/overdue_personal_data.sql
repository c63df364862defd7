-- What it guards: before the first retention run, lists every subject still 'due' more than the
--   1-day grace past its due_on on the build's as_of (on_hold subjects are kept lawfully and
--   are never listed).
-- When it matters: every build until audit.retention_log has a completed, non-dry scheduled
--   retention run; overdue data is expected then (no run has removed it yet), so it warns. From
--   the first such run on, overdue_personal_data_after_retention_run.sql lists it as an error.
-- How to resolve: run the retention apply step for this as_of (it executes retention_plan), or
--   place a legal hold (tinytracker hold add) if the data must be kept for a dispute.
{{ config(severity='warn') }}

{{ tinytracker.overdue_personal_data(
    ref('retention_status'), ref('stg_retention_log'), after_first_run=false
) }}
