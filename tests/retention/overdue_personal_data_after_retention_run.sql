-- What it guards: once any completed, non-dry scheduled retention run exists (audit.retention_log;
--   the schedule or `tinytracker retention apply`, not an erasure request or a restore), no
--   subject is still 'due' more than the 1-day grace past its due_on on the build's as_of.
-- When it matters: every build after the first real retention run, whatever that run's as_of:
--   data that fell due after it (or was loaded overdue) fails here if the schedule stops.
--   Before that run it passes and overdue_personal_data.sql warns instead.
-- How to resolve: run the retention apply step for a current as_of (it executes
--   retention_plan); if it keeps missing the subject, compare retention_plan with the run's rows
--   in audit.retention_log. Data to be kept for a dispute needs a legal hold (tinytracker hold).
{{ config(severity='error') }}

{{ tinytracker.overdue_personal_data(
    ref('retention_status'), ref('stg_retention_log'), after_first_run=true
) }}
