"""``landing_sensor``: one ``load_extract`` run per ready, new extract folder.

The sensor looks at the file system and, read-only and without waiting, at which
organisations have MIS permission revoked: an extract only for such organisations is skipped
(a load would store nothing). A skipped extract is not marked as loaded: it is looked at again
on every tick and loaded once ``tinytracker organisation grant-permission`` lets it through.
Anything uncertain is requested; the loader then refuses what it must and the run reports it.
"""

import dagster as dg

from orchestration.defs.landing.folders import (
    READY_MARKER,
    decode_cursor,
    encode_cursor,
    landing_dir,
    load_run_config,
    new_folders,
    ready_folders,
    was_skipped,
)
from orchestration.defs.landing.jobs import load_extract_job
from tinytracker.loading.organisations import revoked_only_reason


@dg.sensor(
    name="landing_sensor",
    job=load_extract_job,
    minimum_interval_seconds=30,
    description=f"Every 30 s: each extract folder in the landing folder (env "
    f"TINYTRACKER_LANDING_DIR, default landing/) that holds a {READY_MARKER} marker "
    "file and is new or re-delivered is loaded once (run key: folder name and a "
    "fingerprint of its files).",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    root = landing_dir()
    ready = ready_folders(root)
    seen = decode_cursor(context.cursor)
    new = new_folders(ready, seen)
    if not new:
        reason = (
            f"landing folder {root} does not exist"
            if not root.is_dir()
            else f"no new extract folder with a {READY_MARKER} marker in {root}"
        )
        return dg.SensorResult(skip_reason=reason, cursor=encode_cursor(ready))
    requested = []
    skipped = []
    for folder in new:
        refused = revoked_only_reason(folder.path)
        if refused:
            # reconsidered on every tick, so a grant-permission makes it load; said once
            (context.log.debug if was_skipped(folder, seen) else context.log.warning)(refused)
            skipped.append(folder)
            continue
        context.log.info(f"requesting load of {folder.path} (run key {folder.run_key})")
        requested.append(folder)
    cursor = encode_cursor(ready, skipped)
    if not requested:
        return dg.SensorResult(
            skip_reason="every new extract is only for organisations whose MIS permission is "
            "revoked",
            cursor=cursor,
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=folder.run_key,
                run_config=load_run_config(folder.path),
                tags={"tinytracker/extract": folder.name},
            )
            for folder in requested
        ],
        cursor=cursor,
    )
