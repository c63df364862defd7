"""Quoting helpers: the loader builds SQL from header names it did not choose.

Extra columns in an extract can be named anything (spaces, quotes), and code lists come from
seed files, so every name and literal that goes into generated SQL passes through here.
"""

from __future__ import annotations


def ident(name: str) -> str:
    """A double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A single-quoted SQL string literal (embedded quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def quoted_value(expr: str) -> str:
    """SQL text that shows a value in a quarantine detail, e.g. ``'2024-13-01'``."""
    return f"'''' || {expr} || ''''"


def trimmed(expr: str) -> str:
    """A value as the contract reads it: spaces trimmed, and the empty string is null.

    Plain ``trim`` (spaces) is several times faster than ``trim`` with a character set, which
    matters on tens of millions of attendance marks.
    """
    return f"nullif(trim({expr}), '')"
