"""``load_extract_folder``: one extract folder into schema raw, via the loader."""

import dagster as dg

from orchestration.defs.landing.config import LoadExtractConfig
from orchestration.defs.landing.folders import resolve_extract_folder
from orchestration.defs.landing.report import load_events, load_metadata, refusal_warning
from orchestration.defs.warehouse.pool import WAREHOUSE_POOL
from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.defs.warehouse.turn import warehouse_turn
from tinytracker.loading.result import format_result
from tinytracker.loading.run import load_extract


@dg.op(
    pool=WAREHOUSE_POOL,
    out=dg.Out(dg.Nothing),
    description="Load one extract folder (tinytracker.loading.run.load_extract). Organisations "
    "whose MIS permission is revoked are refused and reported as a warning; the "
    "run fails only when the whole extract is unusable (then nothing is stored).",
)
def load_extract_folder(
    context: dg.OpExecutionContext, config: LoadExtractConfig, warehouse: WarehouseResource
) -> dg.Output:
    folder = resolve_extract_folder(config.folder)
    with warehouse_turn():
        result = load_extract(folder, db=warehouse.path())
    report = format_result(result)
    context.log.info(report)
    for event in load_events(result):  # the raw tables, as a CLI load records them too
        context.log_event(event)
    warning = refusal_warning(result)
    if warning:
        context.log.warning(warning)
    return dg.Output(
        None,
        metadata={**load_metadata(result), "report": dg.MetadataValue.md(f"```\n{report}\n```")},
    )
