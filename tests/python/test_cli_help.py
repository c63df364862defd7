"""Every command's ``--help`` says what it does (issue 2: "--help on every command").

The commands are found by walking argparse's tree from ``cli.build_parser()``, so a subcommand
added later is checked without touching this file.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from tinytracker.cli import main as cli


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(argv prefix, parser) of every command and subcommand below ``parser``."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.append(((*path, name), child))
                found += _commands(child, (*path, name))
    return found


COMMANDS = _commands(cli.build_parser())


def test_the_walk_finds_the_nested_subcommands() -> None:
    paths = {path for path, _ in COMMANDS}
    assert {
        ("load",),
        ("generate",),
        ("hold", "add"),
        ("hold", "list"),
        ("hold", "release"),
        ("organisation", "request-anonymisation"),
    } <= paths


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_subcommand_help_has_a_description(
    path: tuple[str, ...], parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parser.description and len(parser.description.split()) >= 5, (
        f"`tinytracker {' '.join(path)}` has no description= saying what it does"
    )
    with pytest.raises(SystemExit) as exited:
        cli.main([*path, "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert " ".join(parser.description.split()[:5]) in out


def test_the_command_line_starts_without_the_generator_s_libraries() -> None:
    """Faker and pyarrow (about 0.1 s to import) serve only ``generate``, numpy (0.05 s) only
    ``generate`` and the loader's scan of a CSV file: a command that runs dbt for a person
    waiting must not load them to build its parser."""
    code = (
        "import sys; from tinytracker.cli.main import build_parser; build_parser(); "
        "print(sorted(name for name in ('faker', 'pyarrow', 'numpy') if name in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
