"""The building blocks of the ``--json`` schemas (schemas.py): closed objects whose every
property is required, and typed leaves that say whether null is allowed. One place decides what
"a date" or "a count" means in every command's document."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def obj(description: str, properties: dict[str, Schema]) -> Schema:
    """A closed object whose every property is required (absent values are null)."""
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _nullable(schema: Schema, nullable: bool) -> Schema:
    if nullable:
        schema = {**schema, "type": [schema["type"], "null"]}
    return schema


def text(description: str, *, nullable: bool = False, enum: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "string", "description": description}
    if enum:
        schema["enum"] = enum + ([None] if nullable else [])
    return _nullable(schema, nullable)


def count(description: str, *, nullable: bool = False) -> Schema:
    return _nullable({"type": "integer", "minimum": 0, "description": description}, nullable)


def number(description: str) -> Schema:
    return {"type": "number", "description": description}


def flag(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def date(description: str, *, nullable: bool = False) -> Schema:
    return _nullable({"type": "string", "format": "date", "description": description}, nullable)


def timestamp(description: str, *, nullable: bool = False) -> Schema:
    schema = {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}",
        "description": description + " (UTC, YYYY-MM-DD HH:MM:SS[.ffffff])",
    }
    return _nullable(schema, nullable)


def listing(description: str, items: Schema) -> Schema:
    return {"type": "array", "description": description, "items": items}


def counts(description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": {"type": "integer", "minimum": 0},
    }


OUTCOMES = ["ok", "failed", "usage", "refused", "partial", "busy", "interrupted"]

ENVELOPE = obj(
    "What every command prints on stdout with --json: one document, one line.",
    {
        "schema_version": {"const": 1, "description": "Bumped on an incompatible change."},
        "command": text("The command, e.g. `retention apply`."),
        "exit_code": count("The process exit code (the table in the README)."),
        "outcome": text("The class of the exit code.", enum=OUTCOMES),
        "message": text(
            "The error, refusal or partial-result line also printed on stderr; null on success.",
            nullable=True,
        ),
        "result": {
            "type": ["object", "null"],
            "description": "The command's result (below); null when it did not finish.",
        },
    },
)
