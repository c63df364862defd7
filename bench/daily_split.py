"""What a daily build's time is spent on, by what would make each node's result change.

A daily build that cost only what changed would run a node only when its inputs changed: the
rows a school day adds (everything downstream of ``raw.attendance_sessions``, the only table
whose rows a day's extract changes) or the evaluation date (every node that reads ``as_of``,
directly or through a macro, and everything downstream of one). The rest reads neither and
gives the same result as the night before. Splitting the daily build's node time over these
classes (from the build's own run_results.json and manifest.json) says how far a selection by
data could take it, and which class is left.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DAY_SOURCE = "source.tinytracker.raw.attendance_sessions"
# (downstream of the day's marks, reads the date) -> class, in the order the report lists them
_CLASS_OF = {
    (True, False): "the day's marks",
    (False, True): "the date",
    (True, True): "both",
    (False, False): "neither",
}
CLASSES = tuple(_CLASS_OF.values())
DATE_ONLY, NEITHER = _CLASS_OF[(False, True)], _CLASS_OF[(False, False)]


def _downstream(children: dict[str, list[str]], start: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def _date_macros(macros: dict[str, Any]) -> set[str]:
    """Macros of the project that read ``as_of``, and the macros that call them."""
    found = {
        uid
        for uid, macro in macros.items()
        if macro.get("package_name") == "tinytracker"
        and "var('as_of'" in macro.get("macro_sql", "").replace('"', "'")
    }
    while True:
        more = {
            uid
            for uid, macro in macros.items()
            if uid not in found and found & set(macro.get("depends_on", {}).get("macros", []))
        }
        if not more:
            return found
        found |= more


def dependency_split(manifest: dict[str, Any], run_results: dict[str, Any]) -> dict[str, Any]:
    """Node seconds (summed over threads) and node counts per class and resource type, and the
    tests of the date class that read a view (each re-derives the view when it runs)."""
    nodes = manifest["nodes"]
    children = manifest["child_map"]
    day = _downstream(children, [DAY_SOURCE])
    macros = _date_macros(manifest.get("macros", {}))
    reads_date = {
        uid
        for uid, node in nodes.items()
        if "as_of" in node.get("raw_code", "")
        or macros & set(node.get("depends_on", {}).get("macros", []))
    }
    date = reads_date | _downstream(children, reads_date)
    split: dict[str, dict[str, dict[str, float]]] = {name: {} for name in CLASSES}
    view_tests = {"tests": 0, "seconds": 0.0}
    for result in run_results["results"]:
        uid = result["unique_id"]
        seconds = float(result["execution_time"])
        kind = uid.split(".", 1)[0]
        name = _CLASS_OF[(uid in day, uid in date)]
        entry = split[name].setdefault(kind, {"seconds": 0.0, "nodes": 0})
        entry["seconds"] = round(entry["seconds"] + seconds, 2)
        entry["nodes"] += 1
        if kind == "test" and name == DATE_ONLY:
            tested = nodes[uid].get("attached_node") or ""
            if nodes.get(tested, {}).get("config", {}).get("materialized") == "view":
                view_tests["tests"] += 1
                view_tests["seconds"] = round(view_tests["seconds"] + seconds, 2)
    return {"classes": split, "date_tests_on_views": view_tests}


def split_of_last_command(target: Path) -> dict[str, Any]:
    """:func:`dependency_split` of the last dbt command in ``target`` ({} without artefacts)."""
    try:
        manifest = json.loads((target / "manifest.json").read_text())
        run_results = json.loads((target / "run_results.json").read_text())
    except (OSError, ValueError):
        return {}
    return dependency_split(manifest, run_results)
