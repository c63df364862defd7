"""The project key: it keys the erasure suppression tokens and never leaves the environment."""

from __future__ import annotations

import os

import duckdb

from tinytracker.core.errors import TinyTrackerError

SECRET_ENV = "TINYTRACKER_SECRET"


def secret() -> str:
    """The project key for suppression tokens; never stored in the repo or the warehouse."""
    value = os.environ.get(SECRET_ENV, "")
    if len(value) < 16:
        raise TinyTrackerError(
            f"set {SECRET_ENV} to a random secret of at least 16 characters (e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`); it keys the erasure "
            "suppression list and must stay the same across runs"
        )
    return value


def bind_secret(con: duckdb.DuckDBPyConnection) -> None:
    """Make the secret available to SQL as ``getvariable('tt_secret')`` without inlining it."""
    con.execute("set variable tt_secret = ?", [secret()])


def subject_token_sql(kind: str, organisation_id: str, subject_id: str) -> str:
    """SQL for a subject's suppression token; arguments are SQL expressions.

    Call :func:`bind_secret` on the connection first.

    The token is SHA-256 over the secret, kind, organisation and id (a keyed hash), not an
    HMAC: DuckDB has no HMAC function, and building one from ``sha256`` in SQL would change
    every token already on the list (so every erased subject would come back on the next
    load). The keyed hash is adequate for what the token does: without the secret (at least
    16 characters, never stored) no id can be tested against a token, and the weakness HMAC
    exists to avoid, length extension, only lets someone forge the token of a longer message,
    which identifies nobody and could only add a suppression they would need write access to
    the warehouse to store. With the secret, an id can be tested against the list by design:
    that is how the loader recognises a returning subject.
    """
    return (
        "sha256(getvariable('tt_secret') || '|' || "
        f"{kind} || '|' || {organisation_id} || '|' || {subject_id})"
    )
