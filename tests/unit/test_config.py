"""One configuration scheme: defaults → file → environment → flags; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from learncard import config
from learncard.main import cli
from learncard.settings import SCHEMA

KIOSK_TOML = """
[kiosk]
id = "k-test-1"
venue = "v-test"
key_path = "keys/kiosk.key"

[county]
id = "county-test"
issuer_public_key = "AAAA"

[uplink]
port = 8883
"""


@pytest.fixture
def kiosk_file(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(KIOSK_TOML)
    return path


class TestPrecedence:
    def test_file_over_defaults(self, kiosk_file: Path) -> None:
        cfg = config.load(SCHEMA, config_file=kiosk_file, env={}, require=("kiosk",))
        assert 8883 == cfg["uplink"]["port"]
        assert 120 == cfg["rules"]["debounce_seconds"]

    def test_environment_over_file_and_flags_over_environment(self, kiosk_file: Path) -> None:
        env = {"LEARNCARD_UPLINK__PORT": "9000", "LEARNCARD_RULES__NO_SESSION": "refuse"}
        cfg = config.load(SCHEMA, config_file=kiosk_file, env=env)
        assert 9000 == cfg["uplink"]["port"]
        assert "refuse" == cfg["rules"]["no_session"]
        cfg = config.load(SCHEMA, config_file=kiosk_file, env=env, overrides={"uplink.port": "9100"})
        assert 9100 == cfg["uplink"]["port"]
        assert "flag" == cfg.origins[("uplink", "port")]

    def test_relative_paths_are_relative_to_the_file(self, kiosk_file: Path) -> None:
        cfg = config.load(SCHEMA, config_file=kiosk_file, env={})
        assert str(kiosk_file.parent / "keys" / "kiosk.key") == cfg["kiosk"]["key_path"]

    def test_system_files_merge_in_order(self, tmp_path: Path) -> None:
        (tmp_path / "10-a.toml").write_text('[uplink]\nhost = "a"\nport = 1\n')
        (tmp_path / "20-b.toml").write_text('[uplink]\nhost = "b"\n')
        cfg = config.load(SCHEMA, files=sorted(tmp_path.glob("*.toml")), env={})
        assert ("b", 1) == (cfg["uplink"]["host"], cfg["uplink"]["port"])


class TestErrors:
    def test_unknown_key_names_key_and_file(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.toml"
        path.write_text('[uplink]\nprot = 1\n')
        with pytest.raises(config.ConfigError) as err:
            config.load(SCHEMA, config_file=path, env={})
        assert "uplink.prot" in str(err.value) and str(path) in str(err.value)

    def test_unknown_section(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.toml"
        path.write_text('[uplnk]\nport = 1\n')
        with pytest.raises(config.ConfigError, match=r"unknown section \[uplnk\]"):
            config.load(SCHEMA, config_file=path, env={})

    def test_wrong_type_names_key(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.toml"
        path.write_text('[uplink]\nport = "eighty"\n')
        with pytest.raises(config.ConfigError, match="uplink.port: expected a whole number"):
            config.load(SCHEMA, config_file=path, env={})

    def test_missing_required_key_names_key_and_files(self, tmp_path: Path) -> None:
        path = tmp_path / "kiosk.toml"
        path.write_text('[kiosk]\nid = "k-1"\n')
        with pytest.raises(config.ConfigError) as err:
            config.load(SCHEMA, config_file=path, env={}, require=("kiosk",))
        assert "missing key kiosk.venue" in str(err.value)
        assert str(path) in str(err.value)

    def test_unknown_environment_key(self) -> None:
        with pytest.raises(config.ConfigError, match="LEARNCARD_UPLINK__PROT"):
            config.load(SCHEMA, env={"LEARNCARD_UPLINK__PROT": "1"}, files=[])

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(config.ConfigError, match="does not exist"):
            config.load(SCHEMA, config_file=tmp_path / "nope.toml", env={})

    def test_broken_toml(self, tmp_path: Path) -> None:
        path = tmp_path / "broken.toml"
        path.write_text("[kiosk\n")
        with pytest.raises(config.ConfigError, match="not valid TOML"):
            config.load(SCHEMA, config_file=path, env={})


class TestConfigShow:
    def test_secrets_are_masked(self, tmp_path: Path) -> None:
        path = tmp_path / "gw.toml"
        path.write_text('[gateway]\ncounty = "c-1"\nissuer_public_key = "AAAA"\n'
                        '[lrs]\npassword = "hunter2"\n[broker]\npassword = "s3cret"\n')
        result = CliRunner().invoke(cli, ["gateway", "--config", str(path), "config", "show", "--json"])
        assert 0 == result.exit_code, result.output
        shown = json.loads(result.output)
        assert config.MASK == shown["lrs"]["password"]
        assert "hunter2" not in result.output and "s3cret" not in result.output
        assert "c-1" == shown["gateway"]["county"]

    def test_show_fails_clearly_on_missing_key(self, tmp_path: Path) -> None:
        path = tmp_path / "k.toml"
        path.write_text('[kiosk]\nid = "k-1"\n')
        result = CliRunner().invoke(cli, ["kiosk", "--config", str(path), "config", "show"])
        assert 0 != result.exit_code
        assert isinstance(result.exception, config.ConfigError)
        assert "kiosk.venue" in str(result.exception)

    def test_toml_output_reads_back(self, kiosk_file: Path) -> None:
        result = CliRunner().invoke(cli, ["--config", str(kiosk_file), "kiosk", "config", "show"])
        assert 0 == result.exit_code, result.output
        reread = tmp = kiosk_file.parent / "shown.toml"
        tmp.write_text(result.output)
        assert "k-test-1" == config.load(SCHEMA, config_file=reread, env={})["kiosk"]["id"]
