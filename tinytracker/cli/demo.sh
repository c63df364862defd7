#!/usr/bin/env bash
# `make demo`: a synthetic school trust from extract to erased, in one go, in demo/.
# Everything goes through the same `tinytracker` commands a real deployment uses.
set -euo pipefail
umask 077  # the demo warehouse, extract, secret and backups hold (synthetic) personal data
cd "$(dirname "$0")/../.."

TT=.venv/bin/tinytracker
DEMO=demo
AS_OF=${DEMO_AS_OF:-$(date +%F)}
export TINYTRACKER_DB="$PWD/$DEMO/tinytracker.duckdb"
export TINYTRACKER_ANALYTICS_DB="$PWD/$DEMO/analytics.duckdb"
export TINYTRACKER_BACKUP_DIR="$PWD/$DEMO/backups"
export DBT_TARGET_PATH="$PWD/target/demo"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

rm -rf "$DEMO" && mkdir -p "$DEMO"
if [ -z "${TINYTRACKER_SECRET:-}" ]; then
    python3 -c 'import secrets; print(secrets.token_hex(32))' > "$DEMO/.demo-secret"
    export TINYTRACKER_SECRET
    TINYTRACKER_SECRET=$(cat "$DEMO/.demo-secret")
    echo "TINYTRACKER_SECRET is not set: generated a THROWAWAY demo secret in $DEMO/.demo-secret."
    echo "It keys the erasure suppression list; a real deployment sets its own in the environment."
fi

step "1. Generate a synthetic trust (8 organisations, ~2,000 pupils, 3 years, 12 bad rows)"
$TT generate --out "$DEMO/extract" --organisations 8 --pupils 2000 --years 3 --seed 42 \
    --inject-errors 12 --quiet

step "2. Load it into DuckDB (bad rows are quarantined; the revoked organisation is refused)"
status=0
$TT load "$DEMO/extract" || status=$?
if [ "$status" -eq 3 ]; then
    echo "(exit code 3 is expected: one organisation has revoked MIS permission, so nothing of"
    echo " it was stored; everything else loaded)"
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi

step "3. Build every dbt model and test for $AS_OF, then publish the analyst marts"
$TT build --as-of "$AS_OF" > "$DEMO/build.log" 2>&1 || { tail -40 "$DEMO/build.log"; exit 1; }
grep -E "Done\. PASS|WARN [0-9]+ " "$DEMO/build.log" | sed 's/^[^ ]* *//' | tail -5
sed -n '/^Published/,$p' "$DEMO/build.log"

step "4. Retention plan for $AS_OF (dry run: changes nothing)"
$TT retention plan --as-of "$AS_OF" --no-build

step "5. Retention apply for $AS_OF (one transaction, audited, file rewritten)"
$TT retention apply --as-of "$AS_OF" --no-build > "$DEMO/apply.log" 2>&1 \
    || { tail -40 "$DEMO/apply.log"; exit 1; }
sed -n '/^retention apply/,$p' "$DEMO/apply.log"

step "6. Reload the same extract: nothing erased comes back"
$TT load "$DEMO/extract" > "$DEMO/reload.log" 2>&1 || true
grep -E "^(file|total|pupils|pupil_contacts|attendance)" "$DEMO/reload.log" || true

step "7. What the warehouse holds now"
$TT report

step "8. The data-protection officer's page and the record of processing"
$TT report --html --out "$DEMO/report"

cat <<EOT

== Where to look
  warehouse       $TINYTRACKER_DB
  analyst copy    $TINYTRACKER_ANALYTICS_DB (read-only; Parquet in $DEMO/analytics/)
  build / apply   $DEMO/build.log, $DEMO/apply.log
  DPO page        $DEMO/report/report.html (record of processing: ropa.csv, ropa.md)
  explore         export TINYTRACKER_DB=$TINYTRACKER_DB, then: make ui (Dagster),
                  make docs (dbt docs), .venv/bin/tinytracker --help
EOT
