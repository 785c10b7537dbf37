"""``--config`` and ``--set`` at every level of the command tree, and configuration files as
Windows editors save them (UTF-8 with a byte-order mark read; GBK refused with what to do)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from learncard import config
from learncard.main import cli
from learncard.settings import SCHEMA
from tests.unit.test_cli_help import COMMANDS

KIOSK_TOML = """[kiosk]
id = "k-test-1"
venue = "v-test"
venue_name = "城关镇社区学校"

[county]
id = "county-test"
issuer_public_key = "AAAA"
"""


@pytest.fixture
def kiosk_file(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(KIOSK_TOML, encoding="utf-8")
    return path


def leaf(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


class TestEveryLevel:
    @pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "learncard")
    def test_config_and_set_are_options_of_every_command(self, path: tuple[str, ...]) -> None:
        """Every command, group or leaf, takes --config and --set (no "No such option")."""
        names = {o for p in leaf(path).params for o in getattr(p, "opts", [])}
        assert {"--config", "--set"} <= names

    @pytest.mark.parametrize("path", [p for p in COMMANDS if p], ids=" ".join)
    def test_the_parser_accepts_them_after_the_last_subcommand(self, path: tuple[str, ...],
                                                                kiosk_file: Path) -> None:
        """`learncard … CMD --config F --set S.K=V --help` parses at every level."""
        result = CliRunner().invoke(cli, [*path, "--config", str(kiosk_file), "--set", "kiosk.venue=v-x", "--help"])
        assert 0 == result.exit_code, result.output

    def test_after_the_last_subcommand_the_file_is_read(self, kiosk_file: Path) -> None:
        """`kiosk config show --config F --set …` uses the file and the override."""
        result = CliRunner().invoke(cli, ["kiosk", "config", "show", "--config", str(kiosk_file),
                                          "--set", "kiosk.venue=v-leaf"])
        assert 0 == result.exit_code, result.output
        assert 'venue = "v-leaf"' in result.output
        assert 'id = "k-test-1"' in result.output

    def test_the_deepest_config_wins_and_sets_add_up(self, kiosk_file: Path, tmp_path: Path) -> None:
        """--config at the root is replaced by one after the subcommand; --set from every level applies."""
        other = tmp_path / "other.toml"
        other.write_text(KIOSK_TOML.replace("k-test-1", "k-other-1"), encoding="utf-8")
        result = CliRunner().invoke(cli, ["--config", str(kiosk_file), "--set", "kiosk.venue=v-root", "kiosk",
                                          "config", "show", "--config", str(other), "--set", "kiosk.timezone=UTC"])
        assert 0 == result.exit_code, result.output
        assert 'id = "k-other-1"' in result.output
        assert 'venue = "v-root"' in result.output
        assert 'timezone = "UTC"' in result.output

    def test_kiosk_status_with_config_after_it_reports_the_file_not_the_option(self, tmp_path: Path) -> None:
        """The issue's failing command: a missing file is a configuration error (rc 2), not a usage error."""
        missing = tmp_path / "missing.toml"
        done = subprocess.run([sys.executable, "-m", "learncard", "kiosk", "status", "--config", str(missing)],
                              capture_output=True, text=True, timeout=60, check=False)
        assert 2 == done.returncode
        assert "No such option" not in done.stderr
        assert f"configuration file {missing} does not exist" in done.stderr


class TestWindowsFiles:
    def test_utf8_with_a_byte_order_mark_is_read(self, kiosk_file: Path) -> None:
        """Notepad's "UTF-8 with BOM" reads the same as plain UTF-8."""
        kiosk_file.write_bytes(b"\xef\xbb\xbf" + KIOSK_TOML.replace("\n", "\r\n").encode("utf-8"))
        cfg = config.load(SCHEMA, config_file=kiosk_file, env={}, require=("kiosk", "county"))
        assert "城关镇社区学校" == cfg["kiosk"]["venue_name"]
        assert "k-test-1" == cfg["kiosk"]["id"]

    def test_gbk_is_refused_with_what_to_do(self, kiosk_file: Path) -> None:
        """A file saved as GBK ("ANSI" on a Chinese Windows) is refused, in Chinese first, naming the fix."""
        kiosk_file.write_bytes(KIOSK_TOML.encode("gbk"))
        with pytest.raises(config.ConfigError) as caught:
            config.load(SCHEMA, config_file=kiosk_file, env={})
        message = str(caught.value)
        assert message.index("UTF-8") < message.index(" / ")
        assert "GBK" in message and "save it again as UTF-8" in message
        assert str(kiosk_file) in message

    def test_gbk_through_the_command_line_is_one_clear_line(self, kiosk_file: Path) -> None:
        """The CLI prints the refusal as one line and exits 2, no traceback."""
        kiosk_file.write_bytes(KIOSK_TOML.encode("gbk"))
        done = subprocess.run([sys.executable, "-m", "learncard", "kiosk", "config", "show", "--config",
                               str(kiosk_file)], capture_output=True, text=True, timeout=60, check=False)
        assert 2 == done.returncode
        assert "Traceback" not in done.stderr
        assert 1 == len(done.stderr.strip().splitlines())
        assert "UTF-8" in done.stderr
