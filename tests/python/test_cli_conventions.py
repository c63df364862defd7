"""One way to speak to every command: the README's table of options is what the commands take.

The commands are found by walking argparse's tree, so a command added later is checked too: it
must take ``--json`` and ``--quiet`` (and ``--warehouse`` if it opens the warehouse), spell
every option of the table the table's way, and appear in the table's row for each such option
it takes. Old spellings keep working for one release, with one line on stderr naming the new
one; the exit codes are one table, printed by ``tinytracker --help`` and copied in the README.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from tinytracker.cli import main as cli
from tinytracker.cli import options
from tinytracker.core.errors import EXIT_CODES

README = Path(__file__).resolve().parents[2] / "README.md"
POSITIONALS_ALLOWED = {("load",): ["DIR"], ("hold", "release"): ["ID"]}


def leaf_commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(argv prefix, parser) of every command that runs something (not the old spellings)."""
    found = []
    runs = path and parser.get_default("handler") is not None
    if runs and not (parser.description or "").startswith("Deprecated"):
        found.append((path, parser))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += leaf_commands(child, (*path, name))
    return found


COMMANDS = leaf_commands(cli.build_parser())
NAMES = {" ".join(path): parser for path, parser in COMMANDS}


def visible_options(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    """Option string -> metavar, of every option the help shows."""
    return {
        string: action.metavar
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        for string in action.option_strings
        if string.startswith("--")
    }


def readme_table() -> dict[str, tuple[str | None, set[str]]]:
    """The README's convention table: option -> (metavar, the commands it names)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## One way to speak to every command", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str | None, set[str]]] = {}
    for line in section.splitlines():
        match = re.match(r"\| `(--[a-z-]+)(?: ([A-Z_]+))?` \| .* \| (.+) \|$", line)
        if not match:
            continue
        option, metavar, commands = match.groups()
        if commands.startswith("every command"):
            named = set(NAMES)
            for excluded in re.findall(r"`([a-z -]+)`", commands.split(" but ", 1)[-1]):
                if " but " in commands:
                    named.discard(excluded)
        else:
            named = set(re.findall(r"`([a-z -]+)`", commands))
        rows[option] = (metavar, named)
    return rows


def test_the_walk_finds_every_command() -> None:
    assert {"load", "build", "retention apply", "hold add", "sar", "erase", "share"} <= set(NAMES)
    assert "share trust" not in NAMES  # the old spelling is not a command of its own


def test_the_readme_table_is_what_every_command_takes() -> None:
    table = readme_table()
    assert {"--as-of", "--organisation", "--pupil", "--employee", "--out", "--warehouse",
            "--json", "--quiet"} <= set(table)  # fmt: skip
    problems = []
    for option, (metavar, named) in table.items():
        taking = {name for name, parser in NAMES.items() if option in visible_options(parser)}
        if taking != named:
            problems.append(
                f"{option}: README names {sorted(named - taking)} that do not take it, and "
                f"misses {sorted(taking - named)}"
            )
        for name in taking:
            actual = visible_options(NAMES[name])[option]
            if metavar and actual != metavar:
                problems.append(f"`{name}` spells {option} {actual}, the table {metavar}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_command_follows_the_convention(name: str) -> None:
    parser = NAMES[name]
    taken = visible_options(parser)
    assert "--json" in taken and "--quiet" in taken
    assert ("--warehouse" in taken) == (name != "generate")
    positionals = [
        a.metavar or a.dest
        for a in parser._actions
        if not a.option_strings and a.help != argparse.SUPPRESS
        and not isinstance(a, argparse._SubParsersAction)
    ]  # fmt: skip
    assert positionals == POSITIONALS_ALLOWED.get(tuple(name.split()), [])
    dated = [option for option, metavar in taken.items() if metavar == "DATE"]
    assert set(dated) <= set(readme_table()), f"a date option not in the table: {dated}"
    assert not {"--date", "--id"} & set(taken), "old spellings are hidden from --help"


def parse(argv: list[str]) -> argparse.Namespace:
    args = cli.build_parser().parse_args(argv)
    options.resolve(args)
    return args


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (["sar", "pupil", "--organisation", "O1", "--id", "P1", "--out", "x"],
         ["sar", "--organisation", "O1", "--pupil", "P1", "--out", "x"],
         {"kind": "pupil", "subject_id": "P1", "organisation": "O1"}),
        (["erase", "contact", "--organisation", "O1", "--id", "C1", "--reason", "other"],
         ["erase", "--organisation", "O1", "--contact", "C1", "--reason", "other"],
         {"kind": "contact", "subject_id": "C1"}),
        (["organisation", "revoke-permission", "O1"],
         ["organisation", "revoke-permission", "--organisation", "O1"],
         {"organisation": "O1"}),
        (["organisation", "request-anonymisation", "O1", "--on", "2025-09-15"],
         ["organisation", "request-anonymisation", "--organisation", "O1", "--on", "2025-09-15"],
         {"organisation": "O1", "on": "2025-09-15"}),
        (["backup", "create", "--date", "2025-09-30"],
         ["backup", "create", "--as-of", "2025-09-30"],
         {"as_of": "2025-09-30"}),
        (["share", "trust", "TR001", "--out", "x"],
         ["share", "--trust", "TR001", "--out", "x"],
         {"trust_id": "TR001"}),
    ],
)  # fmt: skip
def test_old_spellings_still_work_and_name_the_new_one(
    old: list[str], new: list[str], expected: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    new_args = parse(new)
    assert capsys.readouterr().err == ""
    old_args = parse(old)
    for field, value in expected.items():
        assert getattr(old_args, field) == getattr(new_args, field) == value
    if old[0] != "share":  # share warns when it runs (the old spelling is a subcommand)
        err = capsys.readouterr().err
        assert "deprecated" in err and "next release" in err and new[1] in " ".join(new)
        assert len(err.strip().splitlines()) == 1


def test_the_old_share_and_restore_spellings_warn_when_they_run(tmp_path, capsys) -> None:
    assert cli.main(["share", "trust", "TR-X", "--out", str(tmp_path / "s"),
                     "--warehouse", str(tmp_path / "none.duckdb")]) == 2  # fmt: skip
    assert "`share --trust TRUST_ID`" in capsys.readouterr().err
    code = cli.main(["backup", "restore", "2025-09-30", "--warehouse", str(tmp_path / "n.db")])
    err = capsys.readouterr().err
    assert code == 2 and "`backup restore --taken-on DATE`" in err


def test_a_person_is_given_once_and_must_be_given(capsys) -> None:
    for argv in (
        ["sar", "--organisation", "O1", "--out", "x"],
        ["sar", "pupil", "--organisation", "O1", "--pupil", "P1", "--id", "P1", "--out", "x"],
        ["erase", "--organisation", "O1", "--pupil", "P1", "--employee", "E1", "--reason", "x"],
    ):
        with pytest.raises(SystemExit) as exited:
            parse(argv)
        assert exited.value.code == 2
    assert "--pupil ID" in capsys.readouterr().err


def test_exit_codes_are_one_table_in_help_and_readme(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    readme = README.read_text(encoding="utf-8")
    for code, name, meaning in EXIT_CODES:
        assert f"{int(code)} {name} {meaning}" in out
        assert f"| {int(code)} | {name} | {meaning} |" in readme, f"README lacks exit code {code}"


def test_warehouse_option_points_the_command_and_only_it_at_a_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TINYTRACKER_DB", str(tmp_path / "env.duckdb"))
    code = cli.main(["hold", "list", "--warehouse", str(tmp_path / "other.duckdb")])
    assert code == 0 and (tmp_path / "other.duckdb").exists()
    assert not (tmp_path / "env.duckdb").exists()
    import os

    assert os.environ["TINYTRACKER_DB"] == str(tmp_path / "env.duckdb")
