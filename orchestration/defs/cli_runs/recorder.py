"""Record what a ``tinytracker`` command did as events of the matching Dagster assets.

The CLI calls :func:`record` after every command that changed data (through the entry point
``tinytracker.run_recorders`` in pyproject.toml, so the library never imports Dagster). When
``DAGSTER_HOME`` is set, the events go into that instance with
``DagsterInstance.report_runless_asset_event``, and the UI's "last materialized" is true
whichever way the work ran:

- ``load``: a materialization of each ``raw/<table>`` source loaded, with the load's counts;
- ``build``: a materialization of every dbt model and seed built and a check evaluation of every
  dbt test run (``run_results.json``), plus ``analyst_marts`` when it published;
- ``retention apply``: ``retention_run`` (the same metadata as the Dagster asset's), and the
  models dbt rebuilt after the erasure;
- ``erase --apply`` and ``backup restore``: an observation of ``retention_run`` (an erasure run
  outside the schedule), the models rebuilt and ``analyst_marts`` republished;
- ``publish``: ``analyst_marts``; ``backup create``: ``warehouse_backups``.

Every event carries ``as_of`` (when the command had one) and ``recorded_from`` (the command).
Without ``DAGSTER_HOME`` nothing is recorded, and nothing here imports Dagster.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

DAGSTER_HOME_ENV = "DAGSTER_HOME"
BUILT_STATUSES = frozenset({"success"})
CHECK_PASSED = frozenset({"pass", "warn"})


def record(run: Any) -> None:
    """Report ``run`` (a :class:`tinytracker.cli.recording.RunRecord`) to the Dagster instance
    at ``DAGSTER_HOME``; nothing when it is not set."""
    if not os.environ.get(DAGSTER_HOME_ENV):
        return
    import dagster as dg

    events = list(events_for(run))
    if not events:
        return
    with dg.DagsterInstance.get() as instance:
        for event in events:
            instance.report_runless_asset_event(event)


def _base(run: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"recorded_from": f"tinytracker {run.command} (CLI)"}
    if run.as_of is not None:
        metadata["as_of"] = run.as_of.isoformat()
    return metadata


def events_for(run: Any) -> Iterator[Any]:
    """The asset events of one command (see the module docstring)."""
    import dagster as dg

    from orchestration.defs.backup.assets import BACKUPS_KEY
    from orchestration.defs.backup.report import snapshot_metadata
    from orchestration.defs.landing.report import load_events
    from orchestration.defs.publish.report import publish_metadata
    from orchestration.defs.retention.outcome import retention_metadata

    base = _base(run)
    result = run.result
    if run.command == "load":
        yield from load_events(result, base)
    elif run.command == "build":
        yield from dbt_events(run.dbt_target, base)
        if result.published is not None:
            yield dg.AssetMaterialization(
                "analyst_marts", metadata={**base, **publish_metadata(result.published)}
            )
    elif run.command == "retention apply":
        yield dg.AssetMaterialization(
            "retention_run", metadata={**base, **retention_metadata(result)}
        )
        if result.physically_erased:
            yield from dbt_events(run.dbt_target, base)
    elif run.command in ("erase", "backup restore"):
        erasure = result.run if run.command == "erase" else result.replay
        yield dg.AssetObservation("retention_run", metadata={**base, **retention_metadata(erasure)})
        if erasure.physically_erased:
            yield from dbt_events(run.dbt_target, base)
            yield dg.AssetMaterialization("analyst_marts", metadata=base)
    elif run.command == "publish":
        yield dg.AssetMaterialization(
            "analyst_marts", metadata={**base, **publish_metadata(result)}
        )
    elif run.command == "backup create":
        yield dg.AssetMaterialization(BACKUPS_KEY, metadata={**base, **snapshot_metadata(result)})


def _read(path: Path) -> Mapping[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def dbt_events(target: Path, base: Mapping[str, Any]) -> Iterator[Any]:
    """A materialization per model, seed or snapshot the last dbt command built, and a check
    evaluation per test it ran, read from ``target``'s run_results.json and manifest.json."""
    import dagster as dg
    from dagster_dbt.asset_utils import get_asset_check_key_for_test

    from orchestration.defs.dbt.translator import dbt_translator

    results, manifest = _read(target / "run_results.json"), _read(target / "manifest.json")
    if not results or not manifest:
        return
    for node in results.get("results", []):
        unique_id = str(node.get("unique_id", ""))
        props = manifest.get("nodes", {}).get(unique_id)
        if props is None:
            continue
        status = str(node.get("status"))
        metadata = {**base, "dbt_unique_id": unique_id, "dbt_status": status}
        if props["resource_type"] in ("model", "seed", "snapshot"):
            if status in BUILT_STATUSES:
                key = dbt_translator.get_asset_key(props)
                yield dg.AssetMaterialization(key, metadata=metadata)
        elif props["resource_type"] == "test":
            check = get_asset_check_key_for_test(manifest, dbt_translator, unique_id, None)
            if check is None:
                continue
            yield dg.AssetCheckEvaluation(
                asset_key=check.asset_key,
                check_name=check.name,
                passed=status in CHECK_PASSED,
                severity=dg.AssetCheckSeverity.WARN
                if status == "warn"
                else dg.AssetCheckSeverity.ERROR,
                metadata={**metadata, "failures": int(node.get("failures") or 0)},
            )
