"""``--json``: every command prints one JSON document on stdout that its schema (docs/cli-json.md,
tinytracker/cli/schemas.py) accepts, with human text on stderr, on success and on refusal.

The commands run in process on a private copy of the session's synthetic warehouse, in the
order a person would use them; ``build`` and ``retention apply`` are in
test_cli_dagster_recording.py (they need a full dbt build).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tinytracker.cli import json_doc
from tinytracker.cli.schemas import RESULTS, document_schema

from conftest import SYNTHETIC_AS_OF, read, run_cli
from sar_helpers import pupil_with_rows_everywhere

AS_OF = SYNTHETIC_AS_OF.isoformat()


def run_json(*argv: str, code: int = 0) -> dict:
    """Run ``tinytracker ARGV --json``; check the exit code, the one-line document and its
    schema; return the document."""
    exit_code, out, err = run_cli(*argv, "--json")
    assert exit_code == code, err
    lines = out.splitlines()
    assert len(lines) == 1, f"stdout must be one JSON line, got:\n{out}"
    document = json.loads(lines[0])
    jsonschema.validate(document, document_schema(document["command"]))
    assert document["exit_code"] == code
    return document


def test_every_command_that_reports_has_a_schema_and_the_docs_are_current() -> None:
    from test_cli_conventions import leaf_commands

    from tinytracker.cli.main import build_parser

    commands = {" ".join(path) for path, _ in leaf_commands(build_parser())}
    commands.discard("share trust")  # the old spelling of `share`
    assert commands == set(RESULTS)
    for path, text in json_doc.schema_texts().items():
        assert path.read_text(encoding="utf-8") == text, "run python -m tinytracker.cli.json_doc"
    assert json_doc.DOC.read_text(encoding="utf-8") == json_doc.render(), (
        "docs/cli-json.md is stale: run python -m tinytracker.cli.json_doc"
    )
    for command in RESULTS:
        jsonschema.Draft202012Validator.check_schema(document_schema(command))


def test_reporting_commands_print_one_document_their_schema_accepts(wh: Path, tmp_path: Path):
    org, pupil = pupil_with_rows_everywhere(wh)
    summary = run_json("report")["result"]
    assert summary["retention_as_of"] == AS_OF and summary["landing_rows"]["raw.pupils"] > 0
    page = run_json("report", "--html", "--out", str(tmp_path / "page"))["result"]
    assert page["as_of"] == AS_OF and Path(page["files"][0]).exists()

    plan = run_json("retention", "plan", "--as-of", AS_OF, "--no-build")["result"]
    assert plan["dry_run"] and plan["rows"] == sum(step["rows"] for step in plan["steps"])

    hold = run_json("hold", "add", "--organisation", org, "--pupil", pupil, "--reason",
                    "litigation", "--ticket", "CASE-7")["result"]["hold"]  # fmt: skip
    listed = run_json("hold", "list")["result"]["holds"]
    assert [h["hold_id"] for h in listed] == [hold["hold_id"]] and hold["is_active"]
    refused = run_json("erase", "--organisation", org, "--pupil", pupil, "--reason",
                       "controller_request", code=3)  # fmt: skip
    assert refused["outcome"] == "refused" and "hold" in refused["message"]
    assert refused["result"] is None
    released = run_json("hold", "release", hold["hold_id"])["result"]["hold"]
    assert not released["is_active"]

    dry = run_json("erase", "--organisation", org, "--pupil", pupil, "--reason",
                   "controller_request")["result"]  # fmt: skip
    assert not dry["applied"] and dry["run"]["dry_run"] and dry["run"]["rows"] > 0

    bundle = run_json("sar", "--organisation", org, "--pupil", pupil, "--out",
                      str(tmp_path / "sar"))["result"]  # fmt: skip
    assert bundle["organisation_id"] == org and Path(bundle["files"][0]).exists()
    assert pupil not in json.dumps(bundle), "the JSON result must not carry the person's id"

    change = run_json("organisation", "request-anonymisation", "--organisation", org, "--on",
                      "2026-09-01")["result"]  # fmt: skip
    assert change["changed"] and change["new_value"] == "2026-09-01"
    for action in ("revoke-permission", "grant-permission"):
        assert run_json("organisation", action, "--organisation", org)["result"]["changed"]

    share = run_json("share", "--trust", "TR001", "--out", str(tmp_path / "share"))["result"]
    assert share["included"] and share["rows"] == sum(f["rows"] for f in share["files"])
    published = run_json("publish")["result"]
    assert published["marts"] and Path(published["analytics_db"]).exists()

    taken = run_json("backup", "create", "--as-of", AS_OF)["result"]
    assert taken["backup"]["taken_on"] == AS_OF
    assert [b["taken_on"] for b in run_json("backup", "list")["result"]["backups"]] == [AS_OF]
    restored = run_json("backup", "restore", "--taken-on", AS_OF)["result"]
    assert restored["backup"]["taken_on"] == AS_OF and restored["replay"]["rows"] == 0

    assert run_json("secret", "check")["result"]["secret_matches"] is True


def test_load_and_generate_documents_and_a_partial_load(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TINYTRACKER_DB", str(tmp_path / "fresh.duckdb"))
    generated = run_json("generate", "--out", str(tmp_path / "x"), "--organisations", "7",
                         "--pupils", "140", "--years", "1", "--seed", "3")["result"]  # fmt: skip
    assert {f["file"] for f in generated["files"]} >= {"pupils.csv", "organisations.csv"}
    loaded = run_json("load", str(tmp_path / "x"), code=4)  # ORG005's permission is revoked
    assert loaded["outcome"] == "partial" and "ORG005" in loaded["message"]
    result = loaded["result"]
    assert [o["organisation_id"] for o in result["refused_organisations"]] == ["ORG005"]
    assert result["totals"]["read"] == sum(f["read"] for f in result["files"])
    pupils = next(f for f in result["files"] if f["landing_file"] == "pupils")
    stored = read(tmp_path / "fresh.duckdb", "select count(*) from raw.pupils")[0][0]
    assert stored == pupils["inserted"] > 0


@pytest.mark.parametrize(
    ("argv", "code", "outcome"),
    [
        (["report", "--as-of", "2025-01-01"], 2, "usage"),  # --as-of needs --html
        (["hold", "add", "--organisation", "ORG-NONE", "--reason", "litigation"], 3, "refused"),
        (["sar", "--organisation", "ORG001"], 2, "usage"),  # no person, no --out: argparse
    ],
)
def test_a_failed_command_still_prints_one_document(wh: Path, argv, code, outcome) -> None:
    exit_code, out, err = run_cli(*argv, "--json")
    assert exit_code == code
    document = json.loads(out)
    jsonschema.validate(document, document_schema(document["command"]) if document[
        "command"] in RESULTS else json_doc_envelope())  # fmt: skip
    assert document["outcome"] == outcome and document["result"] is None
    assert err.strip(), "the reason is on stderr too"


def json_doc_envelope() -> dict:
    from tinytracker.cli.schemas import ENVELOPE

    return ENVELOPE
