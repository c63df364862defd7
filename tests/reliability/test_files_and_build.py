"""Files holding personal data are the owner's alone, and a build with overdue data says what to
do and still publishes the marts (which hold none)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from helpers import TT, read, run_cli

REASON = "controller_request"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_with_umask(
    *args: str, umask: int = 0o022, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as a user with a permissive umask starts it."""
    return subprocess.run(
        [*TT, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=lambda: os.umask(umask),
    )


def test_every_file_holding_personal_data_is_created_owner_only_whatever_the_umask(
    synthetic_template, synthetic_warehouse: Path, tmp_path: Path, monkeypatch
) -> None:
    # a new warehouse, as the first load creates it
    fresh = tmp_path / "fresh" / "warehouse.duckdb"
    result = run_with_umask(
        "load", str(synthetic_template.extract), env={"TINYTRACKER_DB": str(fresh)}
    )
    assert result.returncode in (0, 4), result.stderr  # 4: partial, a revoked organisation
    # the built synthetic warehouse, left readable by an older version
    db = synthetic_warehouse
    os.chmod(db, 0o644)
    backups = Path(os.environ["TINYTRACKER_BACKUP_DIR"])
    analytics = Path(os.environ["TINYTRACKER_ANALYTICS_DB"])
    org, pupil = read(
        db,
        "select organisation_id, pupil_id from raw.pupils "
        "where anonymised_on is null and organisation_id not in (select "
        "organisation_id from audit.legal_holds) order by all limit 1",
    )[0]
    sar_dir = tmp_path / "sar"
    for args in (
        ("backup", "create", "--as-of", synthetic_template.as_of.isoformat()),
        ("sar", "--organisation", str(org), "--pupil", str(pupil), "--out", str(sar_dir)),
        (
            "erase",
            "--organisation",
            str(org),
            "--pupil",
            str(pupil),
            "--reason",
            REASON,
            "--apply",
            "--rewrite-now",  # the rebuild, publish and file rewrite too, each writing files
        ),
    ):
        result = run_with_umask(*args)
        assert result.returncode == 0, (args, result.stderr)

    private_files = [
        fresh,
        db,
        *backups.glob("tinytracker-*.duckdb"),
        *(backups / "erasure-ledger").glob("*"),
        *sar_dir.rglob("*"),
    ]
    assert len(private_files) > 5
    for path in private_files:
        if path.is_file():
            assert mode(path) & 0o077 == 0, f"{path} is {oct(mode(path))}"
    for folder in (fresh.parent, backups, backups / "erasure-ledger", sar_dir):
        assert mode(folder) & 0o077 == 0, f"{folder} is {oct(mode(folder))}"
    # the analyst copy is meant to be read by others: aggregates only, read-only
    assert mode(analytics) == 0o444
    assert mode(analytics.parent / "analytics") == 0o755


def test_a_backdated_anonymisation_request_fails_the_build_with_the_fix_and_still_publishes(
    synthetic_template, after_apply: Path
) -> None:
    db = after_apply  # after the first real run: overdue data is an error from now on
    as_of = synthetic_template.as_of
    org = read(
        db,
        "select organisation_id from raw.organisations where contract_end is null "
        "and organisation_id not in (select organisation_id from audit.legal_holds) "
        "order by all limit 1",
    )[0][0]
    analytics = Path(os.environ["TINYTRACKER_ANALYTICS_DB"])
    before = analytics.stat().st_mtime_ns if analytics.exists() else 0
    result = run_cli(
        "organisation", "request-anonymisation", "--organisation", str(org), "--on", "2025-09-15"
    )
    assert result.returncode == 0, result.stderr

    built = run_cli("build", "--as-of", as_of.isoformat())

    assert built.returncode == 1
    assert "pupils_2y_after_contract" in built.stderr and "overdue" in built.stderr
    assert f"tinytracker retention apply --as-of {as_of}" in built.stderr
    assert "published anyway" in built.stdout
    assert analytics.stat().st_mtime_ns > before
    fixed = run_cli("retention", "apply", "--as-of", as_of.isoformat())
    assert fixed.returncode == 0, fixed.stderr
    assert run_cli("build", "--as-of", as_of.isoformat()).returncode == 0
