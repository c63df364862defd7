"""Erasure and setup-import rows: only the rows naming the person are deleted (never the rest of
their import, which keeps loading), rows that also name someone on legal hold are kept, and
``--keep-setup-imports`` says what it leaves while a SAR still lists it.
"""

from __future__ import annotations

import json

import duckdb

from tinytracker.cli.main import main
from tinytracker.erasure.result import action_date
from tinytracker.loading.run import load_extract
from tinytracker.retention import holds

from conftest import SyntheticTemplate, read
from erase_helpers import (
    AS_OF,
    REASON,
    erase,
    erase_pupil_now,
    pupil_with_contacts_and_correspondence,
    setup_row,
    write_extract,
)


def test_dry_run_deletes_only_the_setup_import_rows_naming_the_pupil_unless_kept(wh, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn = read(
        wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil]
    )[0][0]
    imports = read(
        wh,
        "select import_id, count(*) filter (where "
        "json_extract_string(payload, '$.upn') = ?), count(*) "
        "from raw.setup_imports where organisation_id = ? group by 1 "
        "having count(*) filter (where json_extract_string(payload, '$.upn') = ?) "
        "> 0 order by 1",
        [upn, org, upn],
    )
    assert imports, "the chosen pupil should be named in a setup import"
    import_id, naming, total = imports[0]
    assert erase("--organisation", org, "--pupil", pupil, "--reason", REASON) == 0
    out = capsys.readouterr().out
    assert (
        f"setup import {import_id}: {naming} row(s) naming the pupil would be deleted; "
        f"its {total - naming} other row(s) are kept"
    ) in out
    assert (
        f"erasure_request_setup_import    raw.setup_imports        delete             "
        f"{len(imports)} {sum(n for _, n, _ in imports):>9,}" in out
    )
    assert "deleted whole" not in out
    assert (
        erase(
            "--organisation",
            org,
            "--pupil",
            pupil,
            "--reason",
            REASON,
            "--keep-setup-imports",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        f"left as is: setup import {import_id} ({naming} row(s) still name the pupil; "
        "--keep-setup-imports" in out
    )
    assert "erasure_request_setup_import" not in out


def test_setup_rows_of_someone_on_hold_are_kept_even_when_they_name_the_pupil(wh, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    import_id, held_pupil, held_upn = read(
        wh,
        """
        select i.import_id, other.pupil_id, other.upn
        from raw.setup_imports as i
        inner join raw.pupils as p on p.organisation_id = i.organisation_id
            and json_extract_string(i.payload, '$.upn') = p.upn
        inner join raw.setup_imports as i2 on i2.organisation_id = i.organisation_id
            and i2.import_id = i.import_id
        inner join raw.pupils as other on other.organisation_id = i.organisation_id
            and json_extract_string(i2.payload, '$.upn') = other.upn
        where p.organisation_id = ? and p.pupil_id = ? and other.pupil_id <> p.pupil_id
        order by all limit 1""",
        [org, pupil],
    )[0]
    upn = read(
        wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil]
    )[0][0]
    con = duckdb.connect(str(wh))
    holds.add_hold(
        con,
        org,
        "complaint",
        subject_kind="pupil",
        subject_id=held_pupil,
        placed_by="dpo",
    )
    # one row names both (a sibling list): it is held data, so it stays
    con.execute(
        "insert into raw.setup_imports (organisation_id, import_id, file_name, "
        "received_on, processed_on, row_number, payload) values (?, ?, 'siblings.csv', "
        "date '2025-08-01', date '2025-08-02', 9001, ?)",
        [org, import_id, json.dumps({"UPN": upn, "Sibling UPN": held_upn})],
    )
    con.close()
    held_rows = read(
        wh,
        "select * from raw.setup_imports where organisation_id = ? and "
        "json_extract_string(payload, '$.upn') = ? order by all",
        [org, held_upn],
    )
    assert erase_pupil_now(org, pupil, "--as-of", AS_OF) == 0
    out = capsys.readouterr().out
    assert (
        f"left as is: setup import {import_id} (1 row(s) still name the pupil; they also "
        "name someone on legal hold"
    ) in out
    assert (
        read(
            wh,
            "select * from raw.setup_imports where organisation_id = ? and "
            "json_extract_string(payload, '$.upn') = ? order by all",
            [org, held_upn],
        )
        == held_rows
    )
    assert read(
        wh,
        "select row_number from raw.setup_imports where organisation_id = ? "
        "and import_id = ? and (json_extract_string(payload, '$.upn') = ? "
        "or json_extract_string(payload, '$.UPN') = ?)",
        [org, import_id, upn, upn],
    ) == [(9001,)]


def test_erasure_deletes_only_the_pupils_setup_rows_and_the_import_keeps_loading(
    wh, synthetic_template: SyntheticTemplate, tmp_path, capsys
):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn = read(
        wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil]
    )[0][0]
    import_id, row_number = read(
        wh,
        "select import_id, row_number from raw.setup_imports where organisation_id = ? "
        "and json_extract_string(payload, '$.upn') = ? order by 1, 2 limit 1",
        [org, upn],
    )[0]
    others = read(
        wh,
        "select * from raw.setup_imports where organisation_id = ? "
        "and import_id = ? and row_number <> ? order by row_number",
        [org, import_id, row_number],
    )
    assert erase_pupil_now(org, pupil, "--as-of", AS_OF) == 0
    capsys.readouterr()
    assert (
        read(
            wh,
            "select * from raw.setup_imports where organisation_id = ? "
            "and import_id = ? order by row_number",
            [org, import_id],
        )
        == others
    )
    assert read(
        wh, "select count(*) from audit.erasure_suppressions where subject_kind = 'setup_import'"
    ) == [
        (
            len(
                read(
                    wh,
                    "select 1 from audit.erasure_suppressions where rule_id = "
                    "'erasure_request_setup_import'",
                )
            ),
        )
    ]

    # the same extract again: the pupil's row stays gone, the other rows are unchanged
    result = load_extract(synthetic_template.extract)
    assert result.file("setup_imports").suppressed >= 1
    assert result.file("setup_imports").inserted == 0
    assert (
        read(
            wh,
            "select * from raw.setup_imports where organisation_id = ? "
            "and import_id = ? order by row_number",
            [org, import_id],
        )
        == others
    )
    # the import id is not blocked: a later row of it about someone else loads
    newer = write_extract(
        tmp_path / "newer",
        {
            "setup_imports": [
                setup_row(org, import_id, 999, {"upn": "Z801200099001", "forename": "Newcomer"})
            ]
        },
    )
    assert load_extract(newer).file("setup_imports").inserted == 1


def test_erasure_keeping_setup_rows_says_so_and_a_sar_still_lists_them(wh, tmp_path, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn = read(
        wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil]
    )[0][0]
    kept = read(
        wh,
        "select import_id, row_number from raw.setup_imports where "
        "organisation_id = ? and json_extract_string(payload, '$.upn') = ? "
        "order by 1, 2",
        [org, upn],
    )
    assert (
        erase(
            "--organisation",
            org,
            "--pupil",
            pupil,
            "--reason",
            REASON,
            "--apply",
            "--keep-setup-imports",
            "--as-of",
            AS_OF,
            "--rewrite-now",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"{len(kept)} row(s) still name the pupil; --keep-setup-imports" in out
    assert "no erased value remains" not in out
    assert (
        f"the {len(kept)} setup-import row(s) left as is still hold the pupil's identifiers"
    ) in out
    assert upn.encode() in wh.read_bytes()  # true: the kept rows hold it

    # the id is erased, but the access request answers with what is still held
    bundle = tmp_path / "sar"
    assert main(["sar", "--organisation", org, "--pupil", pupil, "--out", str(bundle)]) == 0
    data = json.loads((bundle / "sar.json").read_text())
    # erased on the day the erasure ran, whatever date it evaluated the rules for
    assert data["subject"]["erased_on"] == action_date().isoformat()
    assert data["subject"]["record_id"] is None
    section = data["sections"]["raw.setup_imports"]
    rows = [dict(zip(section["columns"], r)) for r in section["rows"]]
    assert [(r["import_id"], r["row_number"]) for r in rows] == kept
    assert "raw.pupils" not in data["sections"]  # the anonymised record is not theirs any more
    assert erase("--organisation", org, "--pupil", pupil, "--reason", REASON) == 3  # refused
    err = capsys.readouterr().err
    assert f"still holds {len(kept)} setup-import row(s) naming them" in err
