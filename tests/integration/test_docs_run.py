"""Docs that run: every shell command in README.md and docs/*.md is run here as written (in
a scratch home and root, with real processes), or its block is marked ``# illustrative``
and its ``learncard`` commands still parse against the real command tree. See
tests/support/docs.py for what "as written" means in a test."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from learncard.main import cli
from tests.support.docs import Block, Machine, documents, learncard_args, shell_blocks

BLOCKS = [b for doc in documents() for b in shell_blocks(doc)]
RUN = [doc for doc in documents() if any(not b.illustrative for b in shell_blocks(doc))]


def test_the_documents_have_shell_blocks() -> None:
    """The scan finds the README's command blocks (a scan that finds nothing proves nothing)."""
    names = {b.name for b in BLOCKS}
    assert any(n.startswith("README.md:") for n in names)
    assert any(not b.illustrative for b in BLOCKS if b.name.startswith("README.md:"))


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.illustrative], ids=lambda b: b.name)
def test_illustrative_commands_parse(block: Block) -> None:
    """Each `learncard` command of an illustrative block names real commands and options."""
    for command in block.commands():
        for args in learncard_args(command):
            result = CliRunner().invoke(cli, [*args, "--help"])
            assert 0 == result.exit_code, f"{block.name}: `learncard {' '.join(args)}`: {result.output}"


@pytest.mark.parametrize("doc", RUN, ids=lambda d: d.name)
def test_every_command_runs_as_written(doc: Path, tmp_path: Path) -> None:
    """Every command of every block not marked illustrative exits 0, in order, on one scratch machine."""
    machine = Machine(tmp_path)
    try:
        for block in shell_blocks(doc):
            if block.illustrative:
                continue
            for command in block.commands():
                machine.run(command, block.name)
    finally:
        machine.stop()
