#!/usr/bin/env bash
# `make demo`: a synthetic school trust from extract to erased, in one go, in demo/.
# Everything goes through the same `tinytracker` commands a real deployment uses.
#
# The demo holds on any day: its extract is taken on a fixed date (the generator's, below) and
# every rule is evaluated as of that date, so what it shows, and the README's examples, are the
# same whenever it runs. Only the real dates of actions (actioned_on, a request's received
# date) are today's. It also records what it did in its own Dagster instance (demo/dagster_home),
# so `make ui` afterwards shows every asset as materialized.
#
# Knobs (for tests): DEMO_DIR (default demo), DEMO_PUPILS (default 2000), DEMO_LAST_STEP (stop
# after that step; default: every step).
set -euo pipefail
umask 077  # the demo warehouse, extract, secret and backups hold (synthetic) personal data
cd "$(dirname "$0")/../.."
PROJECT=$PWD

TT=$PROJECT/.venv/bin/tinytracker
DEMO=${DEMO_DIR:-demo}
case $DEMO in /*) ;; *) DEMO=$PROJECT/$DEMO ;; esac
PUPILS=${DEMO_PUPILS:-2000}
EXTRACT_DATE=2025-07-18  # the day the synthetic extract is taken (the generator's default)
AS_OF=$EXTRACT_DATE      # every rule is evaluated on the day of the extract

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

rm -rf "$DEMO" && mkdir -p "$DEMO/dagster_home"
cp "$PROJECT/orchestration/dagster_home/dagster.yaml" "$DEMO/dagster_home/"
if [ -z "${TINYTRACKER_SECRET:-}" ]; then
    python3 -c 'import secrets; print(secrets.token_hex(32))' > "$DEMO/.demo-secret"
    echo "TINYTRACKER_SECRET is not set: generated a THROWAWAY demo secret in $DEMO/.demo-secret."
    echo "It keys the erasure suppression list; a real deployment sets its own in the environment."
fi
# Everything the demo's commands read, in one file: `source demo/env.sh` points a shell (and
# `make ui`, `make docs`) at the demo. Paths are found from the file's own folder.
cat > "$DEMO/env.sh" <<EOT
# Written by \`make demo\`: point tinytracker, dbt and Dagster at the demo (source it).
_demo=\$(cd "\$(dirname "\${BASH_SOURCE[0]:-\$0}")" && pwd)
export TINYTRACKER_DB="\$_demo/tinytracker.duckdb"
export TINYTRACKER_ANALYTICS_DB="\$_demo/analytics.duckdb"
export TINYTRACKER_BACKUP_DIR="\$_demo/backups"
export TINYTRACKER_AS_OF=$AS_OF  # the demo's evaluation date: the day of its extract
export DAGSTER_HOME="\$_demo/dagster_home"
export DBT_TARGET_PATH="$PROJECT/target/demo"
if [ -f "\$_demo/.demo-secret" ]; then export TINYTRACKER_SECRET=\$(cat "\$_demo/.demo-secret"); fi
unset _demo
EOT
# shellcheck source=/dev/null
source "$DEMO/env.sh"

step "1. Generate a synthetic trust (8 organisations, ~$PUPILS pupils, 3 years, 12 bad rows), extract taken on $EXTRACT_DATE"
$TT generate --out "$DEMO/extract" --organisations 8 --pupils "$PUPILS" --years 3 --seed 42 \
    --extract-date "$EXTRACT_DATE" --inject-errors 12 --quiet

step "2. Load it into DuckDB (bad rows are quarantined; the revoked organisation is refused)"
status=0
$TT load "$DEMO/extract" || status=$?
if [ "$status" -eq 4 ]; then
    echo "(exit code 4, partial, is expected: one organisation has revoked MIS permission, so"
    echo " nothing of it was stored; everything else loaded)"
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi

step "3. Build every dbt model and test as of $AS_OF, then publish the analyst marts"
echo "Every rule is evaluated as of $AS_OF, the day the extract was taken, whatever today is."
$TT build --as-of "$AS_OF" > "$DEMO/build.log" 2>&1 || { tail -40 "$DEMO/build.log"; exit 1; }
grep -E "Done\. PASS|WARN [0-9]+ " "$DEMO/build.log" | sed 's/^[^ ]* *//' | tail -5
sed -n '/^Published/,$p' "$DEMO/build.log"

step "4. Retention plan as of $AS_OF (dry run: changes nothing)"
$TT retention plan --as-of "$AS_OF" --no-build

step "5. Retention apply as of $AS_OF (one transaction, audited, file rewritten)"
$TT retention apply --as-of "$AS_OF" --no-build > "$DEMO/apply.log" 2>&1 \
    || { tail -40 "$DEMO/apply.log"; exit 1; }
sed -n '/^retention apply/,$p' "$DEMO/apply.log"
# The build of step 3 recorded the overdue check's warning (the backlog the apply just cleared);
# an apply runs no tests, so without this the DPO page would show that warning until the next
# build. The check alone, as the DPO's page records it (a few seconds):
echo "Compliance check after the apply (dbt test overdue_personal_data, recorded for the DPO page):"
$TT build --as-of "$AS_OF" --select overdue_personal_data > "$DEMO/recheck.log" 2>&1 \
    || { tail -40 "$DEMO/recheck.log"; exit 1; }
grep -E "[0-9]+ of [0-9]+ (PASS|WARN|FAIL|ERROR) overdue_personal_data" "$DEMO/recheck.log" \
    | sed 's/^[^ ]* *//'

if [ "${DEMO_LAST_STEP:-8}" -le 5 ]; then exit 0; fi

step "6. Reload the same extract: nothing erased comes back"
$TT load "$DEMO/extract" > "$DEMO/reload.log" 2>&1 || true
grep -E "^(file|total|pupils|pupil_contacts|attendance)" "$DEMO/reload.log" || true

step "7. What the warehouse holds now"
$TT report

step "8. The data-protection officer's page and the record of processing"
$TT report --html --out "$DEMO/report"

rel=${DEMO#"$PROJECT"/}
cat <<EOT

== Where to look (everything is as of $AS_OF, the day of the demo's extract)
  warehouse       $TINYTRACKER_DB
  analyst copy    $TINYTRACKER_ANALYTICS_DB (read-only; Parquet in $rel/analytics/)
  build / apply   $rel/build.log, $rel/apply.log, $rel/recheck.log (the check after the apply)
  DPO page        $rel/report/report.html (record of processing: ropa.csv, ropa.md); its
                  24-month history ends on $AS_OF, so what the demo did today (the apply, the
                  quarantined rows) is in its tables but not in those month-by-month counts
  explore         source $rel/env.sh   (TINYTRACKER_DB, TINYTRACKER_AS_OF=$AS_OF, ...), then
                  .venv/bin/tinytracker --help, or the README's examples;
                  make ui (Dagster: every asset shows this run), make docs (dbt docs)
EOT
