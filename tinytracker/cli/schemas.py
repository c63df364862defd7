"""The JSON Schema of every command's ``--json`` document: the envelope and each ``result``.

Written as Python so the parts several commands share (a retention run, a hold, a backup) are
defined once. ``python -m tinytracker.cli.json_doc`` renders them into docs/cli-json.md and
docs/cli-json/*.schema.json; a test validates every command's real output against its schema.
Every object is closed (``additionalProperties: false``), so a field added without a schema
change fails that test. No schema has a field for a person's name, date of birth or contact
details: a JSON document may end up in a log.
"""

from __future__ import annotations

from tinytracker.cli.schema_parts import (  # ENVELOPE: every command's document
    ENVELOPE,
    Schema,
    count,
    counts,
    date,
    flag,
    listing,
    number,
    obj,
    text,
    timestamp,
)

STEP = obj(
    "What one rule did (or would do) to one table.",
    {
        "rule_id": text("Retention rule or request rule id."),
        "table": text("The raw table, e.g. raw.pupils."),
        "action": text("delete or anonymise."),
        "subjects": count("Subjects the step covers."),
        "rows": count("Rows deleted or anonymised."),
    },
)

RUN = obj(
    "One run of the erasure engine: a retention plan or apply, an erasure, a restore replay.",
    {
        "run_id": text("audit.retention_runs.run_id."),
        "as_of": date("The evaluation date."),
        "dry_run": flag("True for a plan or an erasure's dry run: nothing changed."),
        "outcome": text("What the run did.", enum=["nothing_due", "planned", "applied"]),
        "subjects": count("Subjects acted on."),
        "rows": count("Rows acted on."),
        "steps": listing("Per rule and table.", STEP),
        "skipped_on_hold": count("Planned subjects left alone: a standing legal hold."),
        "finished_earlier_runs": count("Interrupted runs whose file rewrite was finished first."),
        "actioned_on": date("The real date of the action (applied runs).", nullable=True),
        "backups_clear_on": date(
            "First day no backup holds what the run erased (applied runs).", nullable=True
        ),
        "physically_erased": flag("The warehouse file was rewritten after the run."),
        "erased_values_checked": count(
            "Identifying values a byte scan of the rewritten file looked for and did not find."
        ),
        "derived_rows_deleted": count(
            "Derived rows (intermediate tables, retention plan) deleted with an erasure request "
            "whose rebuild and file rewrite are queued."
        ),
        "rewrite_due": timestamp(
            "When the queued rebuild and file rewrite of an erasure request run (the next "
            "nightly retention run, London time); null when done at once or not applied.",
            nullable=True,
        ),
    },
)

HOLD = obj(
    "One legal hold (audit.legal_holds).",
    {
        "hold_id": text("The hold's id (`hold release` takes it)."),
        "organisation_id": text("The organisation."),
        "subject_kind": text("What is held.", enum=["organisation", "pupil", "employee"]),
        "subject_id": text("The held pupil's or employee's MIS id.", nullable=True),
        "reason": text("The reason category."),
        "placed_by": text("Who placed it."),
        "placed_at": timestamp("When."),
        "released_by": text("Who released it.", nullable=True),
        "released_at": timestamp("When it was released.", nullable=True),
        "is_active": flag("Still standing."),
    },
)

BACKUP = obj(
    "One backup file.",
    {
        "taken_on": date("The date it is filed under."),
        "path": text("The file."),
        "pruned_from": date("The first day it is deleted (the policy's backup period)."),
    },
)

PUBLISHED = obj(
    "What a publish wrote.",
    {
        "analytics_db": text("The read-only analyst database."),
        "parquet_dir": text("The Parquet folder."),
        "marts": listing(
            "Rows per mart.",
            obj("One mart.", {"mart": text("Table in schema marts."), "rows": count("Rows.")}),
        ),
    },
)

ORGANISATION_CHANGE = obj(
    "One instruction from an organisation (audit.organisation_changes).",
    {
        "organisation_id": text("The organisation."),
        "organisation_name": text("Its name."),
        "change": text(
            "The instruction.",
            enum=["request_anonymisation", "revoke_permission", "grant_permission"],
        ),
        "column": text("The raw.organisations column it sets."),
        "old_value": text("Before.", nullable=True),
        "new_value": text("After.", nullable=True),
        "changed": flag("False when it was already so (nothing recorded)."),
        "changed_by": text("Who recorded it."),
        "change_id": text("audit.organisation_changes.change_id.", nullable=True),
        "standing_holds": count("Standing legal holds on the organisation."),
    },
)

LOAD_COUNTS = {
    "read": count("Rows in the file."),
    "inserted": count("New rows stored."),
    "updated": count("Changed rows updated."),
    "unchanged": count("Rows already stored as they are."),
    "quarantined": count("Rows that broke the landing contract (raw.quarantine)."),
    "refused": count("Rows of organisations whose MIS permission is revoked."),
    "suppressed": count("Rows about people already erased: not loaded again."),
}

RESULTS: dict[str, Schema] = {
    "generate": obj(
        "A synthetic extract written.",
        {
            "out": text("The extract folder."),
            "extract_date": date("The day the extract was taken."),
            "seed": count("The random seed."),
            "seconds": number("Time taken."),
            "files": listing(
                "Files written.",
                obj(
                    "One file.",
                    {"file": text("Name."), "rows": count("Rows."), "bytes": count("Size.")},
                ),
            ),
            "organisations": listing(
                "The organisations and the contract state each stands for.",
                obj(
                    "One organisation.",
                    {"organisation_id": text("Its id."), "state": text("Its contract state.")},
                ),
            ),
            "injected_errors": listing(
                "Bad rows written on purpose (--inject-errors).",
                obj(
                    "One bad row.",
                    {
                        "file": text("The file."),
                        "rule": text("The contract rule it breaks."),
                        "organisation_id": text("Its organisation."),
                    },
                ),
            ),
        },
    ),
    "load": obj(
        "What a load stored, per file; exit code 4 when an organisation was refused.",
        {
            "load_id": text("raw.load_log.load_id."),
            "extract": text("The extract folder."),
            "warehouse": text("The warehouse file."),
            "files": listing(
                "Per landing file.",
                obj(
                    "One file.",
                    {
                        "file": text("The file as it arrived."),
                        "landing_file": text("The contract's landing file."),
                        **LOAD_COUNTS,
                        "already_quarantined": count(
                            "Of quarantined: already in raw.quarantine from an earlier load."
                        ),
                        "quarantined_lines": listing(
                            "The first few quarantined rows: line and rule, never values.",
                            obj(
                                "One quarantined row.",
                                {
                                    "line": count("Line in the file.", nullable=True),
                                    "rule": text("The contract rule it broke."),
                                },
                            ),
                        ),
                    },
                ),
            ),
            "totals": obj("The counts over every file.", LOAD_COUNTS),
            "refused_organisations": listing(
                "Organisations whose MIS permission is revoked: nothing of them was stored.",
                obj(
                    "One refused organisation.",
                    {
                        "organisation_id": text("Its id."),
                        "name": text("Its name.", nullable=True),
                        "rows": count("Rows refused."),
                    },
                ),
            ),
            "revocations_recorded": listing(
                "Organisations this extract revoked.", text("organisation_id")
            ),
        },
    ),
    "build": obj(
        "A dbt build for a date; exit code 1 when a model or test failed.",
        {
            "as_of": date("The evaluation date."),
            "dbt_exit_code": count("dbt's own exit code."),
            "failed_nodes": listing("Models and tests that failed or errored.", text("Node.")),
            "overdue": listing(
                "Rules with personal data kept past its date (fix: retention apply).",
                obj(
                    "One rule.",
                    {
                        "rule_id": text("The rule."),
                        "subjects": count("Subjects overdue."),
                        "due_since": date("The oldest due date."),
                    },
                ),
            ),
            "published": {**PUBLISHED, "type": ["object", "null"]},
        },
    ),
    "publish": PUBLISHED,
    "retention plan": RUN,
    "retention apply": RUN,
    "hold add": obj("The hold placed.", {"hold": HOLD}),
    "hold release": obj("The hold released.", {"hold": HOLD}),
    "hold list": obj(
        "The holds (with --all the released ones too).", {"holds": listing("Holds.", HOLD)}
    ),
    "backup create": obj(
        "The backup taken and the ones pruned.",
        {
            "backup": BACKUP,
            "keep_days": count("The policy's backup period in days."),
            "pruned": listing("Backups deleted: past the backup period.", BACKUP),
        },
    ),
    "backup list": obj(
        "The backups kept.",
        {
            "backup_dir": text("The backup folder."),
            "keep_days": count("The policy's backup period in days."),
            "backups": listing("Oldest first.", BACKUP),
        },
    ),
    "backup restore": obj(
        "A restore and the erasures re-applied to it.",
        {
            "backup": BACKUP,
            "carried_over": counts("Audit rows per table kept from the replaced warehouse."),
            "replay": RUN,
        },
    ),
    "report": {
        "description": "Without --html the summary; with --html the page written.",
        "oneOf": [
            obj(
                "The summary.",
                {
                    "warehouse": text("The warehouse file."),
                    "landing_rows": counts("Rows per raw table."),
                    "quarantine_by_rule": counts("Quarantined rows per contract rule."),
                    "retention_as_of": date("The date the statuses are built for.", nullable=True),
                    "retention_by_rule": listing(
                        "Subjects per rule and status, each counted once (the rule that acts).",
                        obj(
                            "One rule.",
                            {
                                "rule_id": text("The rule."),
                                "retained": count("Not due yet."),
                                "due": count("Due and not actioned."),
                                "on_hold": count("Kept by a legal hold."),
                                "actioned": count("Deleted or anonymised."),
                            },
                        ),
                    ),
                    "last_runs": listing(
                        "The last five runs, newest first.",
                        obj(
                            "One run.",
                            {
                                "started_at": timestamp("When it started."),
                                "as_of": date("Its evaluation date."),
                                "requested_by": text("cli, dagster ..., erasure_request."),
                                "outcome": text("nothing_due, planned or applied."),
                                "subjects": count("Subjects."),
                                "rows": count("Rows."),
                                "file_rewritten": flag("The erasure is physical."),
                            },
                        ),
                    ),
                    "active_legal_holds": count("Standing holds."),
                    "pending_rewrite": obj(
                        "Applied runs whose erasure is not yet physical (the file rewrite is "
                        "queued to the next nightly run).",
                        {
                            "runs": count("How many."),
                            "since": timestamp("When the oldest started.", nullable=True),
                        },
                    ),
                },
            ),
            obj(
                "The DPO page written.",
                {
                    "as_of": date("The evaluation date."),
                    "organisation_id": text("The organisation, or null: all.", nullable=True),
                    "out": text("The folder."),
                    "files": listing("report.html, ropa.csv, ropa.md.", text("A file.")),
                    "headlines": counts("The headline figures by key."),
                },
            ),
        ],
    },
    "sar": obj(
        "Where a SAR bundle was written (the person's data stays in the bundle).",
        {
            "request_id": text("audit.subject_requests.request_id."),
            "subject_kind": text("pupil or employee.", enum=["pupil", "employee"]),
            "organisation_id": text("The organisation."),
            "received_on": date("When the controller received the request."),
            "due_on": date("One month later."),
            "completed_on": date("When it was answered.", nullable=True),
            "erased_on": date("When the person was erased, if they were.", nullable=True),
            "out": text("The bundle's folder."),
            "files": listing("sar.json and sar.html.", text("A file.")),
            "sections": listing(
                "Rows per section of the bundle.",
                obj("One section.", {"section": text("Its name."), "rows": count("Rows.")}),
            ),
        },
    ),
    "erase": obj(
        "An erasure request: the run, the request recorded, what is left and why.",
        {
            "applied": flag("False for the dry run (no --apply)."),
            "subject_kind": text("Who.", enum=["pupil", "employee", "pupil_contact"]),
            "organisation_id": text("The organisation."),
            "run": RUN,
            "related": counts("Items erased with the person, by kind."),
            "request": {
                **obj(
                    "The request recorded in audit.subject_requests (applied runs).",
                    {
                        "request_id": text("Its id."),
                        "reason": text("The reason category.", nullable=True),
                        "ticket": text("The controller's case reference.", nullable=True),
                        "received_on": date("Received."),
                        "due_on": date("Due."),
                        "completed_on": date("Completed.", nullable=True),
                    },
                ),
                "type": ["object", "null"],
            },
            "setup_imports": listing(
                "Setup imports with rows naming the person.",
                obj(
                    "One import.",
                    {
                        "import_id": text("The import."),
                        "rows_naming_subject": count("Its rows naming the person."),
                        "rows_erased": count("Of those, deleted."),
                        "rows_left": count("Left: --keep-setup-imports or a legal hold."),
                        "due_on": date("When its own rule deletes it.", nullable=True),
                    },
                ),
            ),
        },
    ),
    "organisation request-anonymisation": ORGANISATION_CHANGE,
    "organisation revoke-permission": ORGANISATION_CHANGE,
    "organisation grant-permission": ORGANISATION_CHANGE,
    "share": obj(
        "A trust's export.",
        {
            "share_id": text("audit.shares.share_id."),
            "trust_id": text("The trust."),
            "out": text("The folder."),
            "members_as_of": date("The date membership was evaluated on.", nullable=True),
            "included": listing("Members exported.", text("organisation_id")),
            "left_out": listing(
                "Members left out and why.",
                obj(
                    "One member.",
                    {
                        "organisation_id": text("The member."),
                        "reason": text("Why (a reason code).", nullable=True),
                    },
                ),
            ),
            "files": listing(
                "CSV files written.",
                obj("One file.", {"file": text("Its name."), "rows": count("Rows.")}),
            ),
            "rows": count("Rows over every file."),
        },
    ),
    "secret check": obj(
        "The secret is this warehouse's.",
        {"warehouse": text("The warehouse."), "secret_matches": {"const": True}},
    ),
    "secret rotate": obj(
        "The token key re-wrapped under the new secret.",
        {"warehouse": text("The warehouse."), "rotated": {"const": True}},
    ),
}
"""Command -> the JSON Schema of its ``result``."""


def result_schema(command: str) -> Schema:
    """The ``result`` schema of ``command`` (as typed: ``retention apply``)."""
    return RESULTS[command]


def document_schema(command: str) -> Schema:
    """The whole document of ``command``: the envelope with its result schema (or null)."""
    envelope = dict(ENVELOPE)
    properties = dict(envelope["properties"])
    properties["result"] = {"anyOf": [RESULTS[command], {"type": "null"}]}
    properties["command"] = {"const": command, "description": "The command."}
    envelope["properties"] = properties
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **envelope}
