"""The project secret and the token key it guards.

Suppression tokens are keyed hashes (:func:`subject_token_sql`). The key they are made with, the
*token key*, never changes: changing it would make every erased person unrecognisable, and the
next extract would bring them back. The secret in ``TINYTRACKER_SECRET`` wraps that key:
``audit.token_key`` stores the token key XORed with a SHAKE-256 stream of the secret and a
random salt, plus a check value (SHA-256 of the secret, a fixed label and a second salt). So

- every command that reads or writes tokens unwraps the key with the secret it was given and
  first compares the check value: a different secret is refused before anything changes
  (:class:`SecretMismatchError`), where it used to key new tokens that matched nothing;
- rotating the secret (``tinytracker secret rotate``) re-wraps the same token key under the new
  secret in one transaction: every token stays valid, nothing else is rewritten.

The first command that needs the key creates it: a random 32-byte key for a new warehouse, or,
for a warehouse whose tokens were made before this table existed, the secret itself (tokens
were keyed with it directly), so no token changes. Neither the secret nor the unwrapped key is
ever stored.
"""

from __future__ import annotations

import hashlib
import os
import secrets as random_source

import duckdb

from tinytracker.core.errors import TinyTrackerError

SECRET_ENV = "TINYTRACKER_SECRET"
NEW_SECRET_ENV = "TINYTRACKER_NEW_SECRET"
MIN_SECRET_CHARS = 16
CHECK_LABEL = "tinytracker token key check v1"
KEY_TABLE = "audit.token_key"


class SecretMismatchError(TinyTrackerError):
    """The secret given is not the one this warehouse's token key is wrapped with."""


def secret(env: str = SECRET_ENV) -> str:
    """The secret from the environment; never stored in the repo or the warehouse."""
    value = os.environ.get(env, "")
    if len(value) < MIN_SECRET_CHARS:
        raise TinyTrackerError(
            f"set {env} to a random secret of at least {MIN_SECRET_CHARS} characters (e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`); it guards the key of "
            "the erasure suppression list and must stay the same across runs (change it with "
            "`tinytracker secret rotate`)"
        )
    return value


def _check_value(value: str, salt: str) -> str:
    return hashlib.sha256(f"{value}|{CHECK_LABEL}|{salt}".encode()).hexdigest()


def _stream(value: str, salt: str, length: int) -> bytes:
    return hashlib.shake_256(f"{value}|{salt}".encode()).digest(length)


def _wrap(key: str, value: str, salt: str) -> str:
    raw = key.encode()
    return bytes(a ^ b for a, b in zip(raw, _stream(value, salt, len(raw)))).hex()


def _unwrap(wrapped: str, value: str, salt: str) -> str:
    raw = bytes.fromhex(wrapped)
    return bytes(a ^ b for a, b in zip(raw, _stream(value, salt, len(raw)))).decode()


def _stored(con: duckdb.DuckDBPyConnection) -> tuple[str, str, str, str] | None:
    try:
        rows = con.execute(
            f"select key_check, check_salt, wrapped_key, wrap_salt from {KEY_TABLE}"
        ).fetchall()
    except duckdb.CatalogException:
        return None
    if len(rows) > 1:
        raise TinyTrackerError(f"{KEY_TABLE} has {len(rows)} rows; it must hold one")
    return (str(rows[0][0]), str(rows[0][1]), str(rows[0][2]), str(rows[0][3])) if rows else None


def _has_tokens(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        rows = con.execute(
            "select exists (select 1 from audit.erasure_suppressions) "
            "or exists (select 1 from audit.erasure_identifiers)"
        ).fetchall()
    except duckdb.CatalogException:
        return False
    return bool(rows[0][0])


def mismatch_message() -> str:
    return (
        f"{SECRET_ENV} is not the secret this warehouse's erasure tokens are guarded by "
        f"(checked against {KEY_TABLE}): nothing was changed. Tokens keyed another way would "
        "not recognise anyone already erased, and a later extract would bring them back. Set "
        f"{SECRET_ENV} to the secret in use; to change it, run `tinytracker secret rotate` with "
        f"the current secret in {SECRET_ENV} and the new one in {NEW_SECRET_ENV}."
    )


def token_key(con: duckdb.DuckDBPyConnection, *, create: bool = True) -> str:
    """The token key, unwrapped with the environment's secret after checking it.

    With no key yet and ``create`` (a read-write connection), the key is made and stored now
    (see the module docstring); otherwise a key that matches nothing (there are no tokens).
    """
    value = secret()
    stored = _stored(con)
    if stored is None:
        key = value if _has_tokens(con) else random_source.token_hex(32)
        if create:
            store_key(con, key, value)
        return key
    key_check, check_salt, wrapped_key, wrap_salt = stored
    if _check_value(value, check_salt) != key_check:
        raise SecretMismatchError(mismatch_message())
    return _unwrap(wrapped_key, value, wrap_salt)


def store_key(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Write ``key`` wrapped under the secret ``value`` as the one row of the key table."""
    check_salt, wrap_salt = random_source.token_hex(16), random_source.token_hex(16)
    con.execute(f"delete from {KEY_TABLE}")
    con.execute(
        f"insert into {KEY_TABLE} values (?, ?, ?, ?, current_timestamp)",
        [_check_value(value, check_salt), check_salt, _wrap(key, value, wrap_salt), wrap_salt],
    )


def check_secret(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse a secret that is not the warehouse's, before a command changes anything."""
    token_key(con, create=False)


def rotate_secret(con: duckdb.DuckDBPyConnection) -> None:
    """Re-wrap the token key under ``TINYTRACKER_NEW_SECRET`` (checked old secret first), in
    the caller's transaction; every token stays valid."""
    key = token_key(con)
    new_value = secret(NEW_SECRET_ENV)
    if new_value == secret():
        raise TinyTrackerError(f"{NEW_SECRET_ENV} is the same as {SECRET_ENV}: nothing to rotate")
    store_key(con, key, new_value)


def bind_secret(con: duckdb.DuckDBPyConnection) -> None:
    """Make the token key available to SQL as ``getvariable('tt_secret')``, never inlined.

    Checks the environment's secret first (:class:`SecretMismatchError` when it is not the
    warehouse's) and creates the key on first use.
    """
    read_only = _read_only(con)
    con.execute("set variable tt_secret = ?", [token_key(con, create=not read_only)])


def _read_only(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "select readonly from duckdb_databases() where database_name = current_database()"
    ).fetchall()
    return bool(rows and rows[0][0])


def subject_token_sql(kind: str, organisation_id: str, subject_id: str) -> str:
    """SQL for a subject's suppression token; arguments are SQL expressions.

    Call :func:`bind_secret` on the connection first.

    The token is SHA-256 over the token key, kind, organisation and id (a keyed hash), not an
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
