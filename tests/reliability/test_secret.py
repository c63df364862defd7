"""A changed secret never silently undoes erasures: it is refused before anything changes.

The suppression tokens are keyed; a command given another secret used to key new tokens that
matched nobody, so the original extract loaded every erased person again. Now the token key
is wrapped under the secret with a check value, every command that reads or writes tokens
checks it first, and ``tinytracker secret rotate`` re-wraps the key so every token stays valid.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from tinytracker import tasks
from tinytracker.core import secret
from tinytracker.core.secret import SecretMismatchError
from tinytracker.loading.run import load_extract

from helpers import read, run_cli

OTHER_SECRET = "another-secret-0123456789abcdef"
NEW_SECRET = "the-rotated-secret-0123456789ab"
REASON = "controller_request"


def erase_one_pupil(db: Path) -> tuple[str, str]:
    org, pupil = read(
        db,
        "select organisation_id, pupil_id from raw.pupils where anonymised_on is null "
        "and organisation_id not in (select organisation_id from audit.legal_holds "
        "where released_at is null) order by all limit 1",
    )[0]
    tasks.erase("pupil", str(org), str(pupil), REASON, apply_changes=True)
    return str(org), str(pupil)


def snapshot(db: Path, target: Path) -> Path:
    con = duckdb.connect(str(db))
    con.execute("checkpoint")
    con.close()
    return Path(shutil.copy(db, target))


def same_tables(before: Path, after: Path) -> bool:
    con = duckdb.connect()
    try:
        con.execute("attach ? as b (read_only)", [str(before)])
        con.execute("attach ? as a (read_only)", [str(after)])
        tables = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where database_name = 'b' and schema_name in ('raw', 'audit')"
        ).fetchall()
        return all(
            con.execute(
                f"select count(*) from (select * from b.{t} except all select * from a.{t} "
                f"union all select * from a.{t} except all select * from b.{t})"
            ).fetchall()[0][0]
            == 0
            for (t,) in tables
        )
    finally:
        con.close()


def test_a_load_with_another_secret_is_refused_and_changes_nothing(
    synthetic_template, synthetic_warehouse: Path, tmp_path: Path, monkeypatch
) -> None:
    db = synthetic_warehouse
    erase_one_pupil(db)
    before = snapshot(db, tmp_path / "before.duckdb")
    monkeypatch.setenv(secret.SECRET_ENV, OTHER_SECRET)

    with pytest.raises(SecretMismatchError, match="secret rotate"):
        load_extract(synthetic_template.extract)
    result = run_cli("load", str(synthetic_template.extract))

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not the secret" in result.stderr
    assert same_tables(before, db)


@pytest.mark.long
def test_an_erasure_or_apply_with_another_secret_is_refused_before_anything_changes(
    synthetic_template, synthetic_warehouse: Path, tmp_path: Path, monkeypatch
) -> None:
    db = synthetic_warehouse
    erase_one_pupil(db)
    before = snapshot(db, tmp_path / "before.duckdb")
    monkeypatch.setenv(secret.SECRET_ENV, OTHER_SECRET)
    org, pupil = read(
        db,
        "select organisation_id, pupil_id from raw.pupils "
        "where anonymised_on is null order by all desc limit 1",
    )[0]

    erased = run_cli(
        "erase",
        "--organisation",
        str(org),
        "--pupil",
        str(pupil),
        "--reason",
        REASON,
        "--apply",
    )
    applied = run_cli(
        "retention", "apply", "--as-of", synthetic_template.as_of.isoformat(), "--no-build"
    )

    for result in (erased, applied):
        assert result.returncode == 2, result.stderr
        assert "is not the secret" in result.stderr and "Traceback" not in result.stderr
    assert same_tables(before, db)


def test_rotating_the_secret_keeps_every_erased_person_erased(
    synthetic_template, synthetic_warehouse: Path, monkeypatch
) -> None:
    db = synthetic_warehouse
    org, pupil = erase_one_pupil(db)
    monkeypatch.setenv(secret.NEW_SECRET_ENV, NEW_SECRET)

    rotated = run_cli("secret", "rotate")
    assert rotated.returncode == 0, rotated.stderr

    old = run_cli("load", str(synthetic_template.extract))
    assert old.returncode == 2 and "is not the secret" in old.stderr
    monkeypatch.setenv(secret.SECRET_ENV, NEW_SECRET)
    load_extract(synthetic_template.extract)
    assert read(
        db,
        "select count(*) from raw.pupils where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    ) == [(0,)]
    assert run_cli("secret", "check").returncode == 0


@pytest.mark.long
def test_tokens_made_before_the_key_table_keep_working_after_the_upgrade(
    synthetic_template, synthetic_warehouse: Path
) -> None:
    """An older warehouse keyed its tokens with the secret itself: the first command after
    the upgrade adopts the secret as the token key, so those tokens still match."""
    db = synthetic_warehouse
    org, pupil = read(
        db,
        "select organisation_id, pupil_id from raw.pupils "
        "where anonymised_on is null order by all limit 1",
    )[0]
    legacy_token = hashlib.sha256(f"{secret.secret()}|pupil|{org}|{pupil}".encode()).hexdigest()
    con = duckdb.connect(str(db))
    con.execute("delete from audit.token_key")
    con.execute(
        "insert into audit.erasure_suppressions values "
        "('pupil', ?, ?, null, 'erasure_request', date '2025-09-01', 'legacy-run')",
        [org, legacy_token],
    )
    con.execute("delete from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil])
    con.close()

    load_extract(synthetic_template.extract)

    assert read(
        db,
        "select count(*) from raw.pupils where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    ) == [(0,)]
    con = duckdb.connect(str(db))
    try:
        assert secret.token_key(con) == secret.secret()
    finally:
        con.close()
