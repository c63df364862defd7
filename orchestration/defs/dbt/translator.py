"""How dbt nodes become Dagster assets: keys ``<schema>/<model>``, grouped by that schema.

dbt tests become asset checks (``enable_asset_checks``, dagster-dbt's default, set explicitly
here so a future default change cannot silently drop them). dagster-dbt takes a check's
description from the test's ``meta.description`` only, which no test here sets, so the UI said
"No description provided" for every check; :func:`test_description` says what each test checks
instead: its own description, a singular test's "What it guards" comment, or for a generic test
the rule it applies to the column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

BUILT_IN_TESTS = {
    "not_null": "{column} is never empty (null)",
    "unique": "{column} is unique: no two rows share a value",
    "accepted_values": "{column} only holds the accepted values {values}",
    "relationships": "every {column} exists in {to}.{field}",
}


def _first_sentence(text: str) -> str:
    """The macro description's first sentence (two when the first is a bare heading)."""
    text = " ".join(text.split())
    match = re.match(r"(.+?[.:;])(\s|$)", text)
    first = match.group(1) if match else text
    if len(first) < 30 and match:
        rest = _first_sentence(text[match.end() :])
        if rest:
            return rest
    return first.rstrip(".:;")


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _singular_words(raw_code: str) -> str:
    """The "What it guards:" comment at the top of a singular test (its first lines)."""
    words: list[str] = []
    reading = False
    for line in raw_code.splitlines():
        text = line.strip()
        comment = text[2:].strip() if text.startswith("--") else None
        if comment is not None and comment.startswith(("What it guards:", "What:")):
            reading = True
            words.append(comment.split(":", 1)[1].strip())
        elif reading and comment is not None and not comment.startswith(("When ", "How ")):
            words.append(comment)
        else:
            reading = False
    return " ".join(words)


def test_description(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str:
    """What a dbt test checks, in a line: the test's description, a singular test's "What it
    guards" comment, or the generic test's rule on its column."""
    own = (test.get("description") or "").strip()
    if own:
        return own
    metadata = test.get("test_metadata") or {}
    if not metadata:
        return _capitalised(
            _singular_words(test.get("raw_code") or "") or f"dbt test {test['name']}"
        )
    name = metadata.get("name", "")
    kwargs = metadata.get("kwargs") or {}
    column = f"`{kwargs['column_name']}`" if kwargs.get("column_name") else "each row"
    if name in BUILT_IN_TESTS:
        to = str(kwargs.get("to", "")).replace("ref('", "").replace("')", "")
        values = ", ".join(str(v) for v in kwargs.get("values") or [])
        words = BUILT_IN_TESTS[name].format(
            column=column, values=values, to=to, field=kwargs.get("field", "")
        )
        return f"{words[0].upper()}{words[1:]}. dbt test {name}."
    macro = manifest.get("macros", {}).get(f"macro.{test.get('package_name')}.test_{name}", {})
    rule = _first_sentence(macro.get("description") or "") or name.replace("_", " ")
    where = f" (column {column})" if kwargs.get("column_name") else ""
    columns = kwargs.get("combination_of_columns")
    if columns:
        where = f" (columns {', '.join(columns)})"
    if kwargs.get("expression"):
        where += f"; the expression: {' '.join(str(kwargs['expression']).split())}"
    return f"{_capitalised(rule)}{where}. dbt test {name}."


class TinyTrackerDbtTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # staging, intermediate, retention, marts, reference: the layers of the project
        return self.get_asset_key(dbt_resource_props).path[0]

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: Any,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=test_description(manifest, manifest["nodes"][unique_id]))


dbt_translator = TinyTrackerDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)
