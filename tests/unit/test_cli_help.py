"""Every command of the ``learncard`` tree has --help text that says what it does."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from learncard.main import cli


def walk(group: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(group, click.Group):
        for name, sub in group.commands.items():
            found += walk(sub, (*path, name))
    return found


COMMANDS = walk(cli)


def test_the_tree_has_the_four_programs() -> None:
    assert {("kiosk",), ("gateway",), ("provision",), ("demo",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "learncard")
def test_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert 0 == result.exit_code, result.output
    assert "Usage:" in result.output
    command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert (command.help or "").strip(), f"learncard {' '.join(path)} has no help text"
