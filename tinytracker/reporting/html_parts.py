"""Small HTML pieces of the DPO page: values, tables, figures, notices. Everything is escaped."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

from tinytracker.reporting.data import Row
from tinytracker.reporting.plots import PIXEL_HEIGHT, PIXEL_WIDTH, Plot


def esc(value: object) -> str:
    return html.escape(fmt(value))


def fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def table(rows: Sequence[Row], columns: Sequence[tuple[str, str]], empty: str) -> str:
    """A table of ``rows`` showing ``columns`` (key, heading); ``empty`` when there are none.
    Number columns are right-aligned, headings with them."""
    if not rows:
        return f"<p class='empty'>{html.escape(empty)}</p>"
    numeric = {key for key, _ in columns if any(_is_number(row[key]) for row in rows)}
    head = "".join(
        f"<th class='{'num' if key in numeric else ''}'>{html.escape(title)}</th>"
        for key, title in columns
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='{'num' if key in numeric else ''}'>{esc(row[key])}</td>"
            for key, _ in columns
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(plot: Plot) -> str:
    return (
        f"<figure><img class='plot' data-plot='{plot.key}' src='{plot.data_uri}' "
        f"width='{PIXEL_WIDTH}' height='{PIXEL_HEIGHT}' alt='{html.escape(plot.alt)}'>"
        f"<figcaption>{html.escape(plot.alt)}</figcaption></figure>"
    )


def shorten(text: object, limit: int = 240) -> str:
    """A long description cut at a word boundary (the full text is in the dbt docs)."""
    value = fmt(text)
    return value if len(value) <= limit else value[:limit].rsplit(" ", 1)[0] + " …"


def alert(text: str, *, ok: bool) -> str:
    return f"<p class='{'ok' if ok else 'alert'}'>{html.escape(text)}</p>"


def check_table(
    rows: list[Row], columns: list[tuple[str, str]], empty: str, sections: dict[str, str]
) -> str:
    """Checks, each linking to the page section that shows what it guards."""
    if not rows:
        return f"<p class='empty'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = []
    for row in rows:
        section = sections.get(row["guarded_layer"] or "", "ropa")
        guards = row["guarded_relation"] + (
            f".{row['guarded_column']}" if row["guarded_column"] else ""
        )
        body.append(
            f"<tr class='{'' if row['is_passed'] else 'failed'}'>"
            f"<td>{esc(row['status'])}</td><td class='name'>{esc(row['test_name'])}</td>"
            f"<td><a href='#{section}'>{esc(guards)}</a></td>"
            f"<td>{esc(shorten(row['what_it_guards']))}</td>"
            f"<td>{esc(row['executed_at'])}</td></tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
