"""How dbt nodes become Dagster assets: keys ``<schema>/<model>``, grouped by that schema.

dbt tests become asset checks (``enable_asset_checks``, dagster-dbt's default, set explicitly
here so a future default change cannot silently drop them).
"""

from collections.abc import Mapping
from typing import Any

from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


class TinyTrackerDbtTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # staging, intermediate, retention, marts, reference: the layers of the project
        return self.get_asset_key(dbt_resource_props).path[0]


dbt_translator = TinyTrackerDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)
