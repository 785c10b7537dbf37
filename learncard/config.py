"""One configuration scheme for every LearnCard program.

Precedence, lowest first: built-in defaults → ``/etc/learncard/*.toml`` (or the one file
given with ``--config``, which replaces that lookup) → environment variables
``LEARNCARD_<SECTION>__<KEY>`` → command-line flags. Every program shares one namespace
of sections (``[kiosk]``, ``[journal]``, ``[gateway]`` ...), declared in
:mod:`learncard.settings`; a key no program knows is an error naming the key and the
file, and so is a required key nobody set. Relative paths in a file are relative to
that file, so a kiosk's configuration bundle can be moved as a folder.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYSTEM_DIR = Path("/etc/learncard")
ENV_PREFIX = "LEARNCARD_"
MASK = "********"


class ConfigError(Exception):
    """A configuration problem; the message names the key and where it came from."""


@dataclass(frozen=True)
class Key:
    """One setting: its default (``None`` with ``required``) and its kind.

    kinds: str, int, bool, list, path (relative to the file that set it), secret.
    """

    default: Any
    kind: str = "str"
    required: bool = False
    help: str = ""


Schema = Mapping[str, Mapping[str, Key]]


@dataclass
class Config:
    """The effective configuration: ``values[section][key]`` and where each came from."""

    values: dict[str, dict[str, Any]]
    origins: dict[tuple[str, str], str]
    schema: Schema

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.values[section]

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]

    def masked(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for section, keys in self.values.items():
            out[section] = {
                k: (MASK if self.schema[section][k].kind == "secret" and v else v)
                for k, v in keys.items()
            }
        return out


def _coerce(value: Any, key: Key, where: str, base: Path | None) -> Any:
    kind = key.kind
    if kind in ("str", "secret"):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    if kind == "path":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a path, got {value!r}")
        path = Path(value).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        return str(path)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind == "list":
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return value
    raise ConfigError(f"{where}: unknown setting kind {kind!r}")


def _parse_text_value(text: str, key: Key) -> Any:
    """A value from an environment variable or ``--set``: TOML syntax, else plain text."""
    if key.kind in ("str", "secret", "path"):
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _apply(
    values: dict[str, dict[str, Any]],
    origins: dict[tuple[str, str], str],
    schema: Schema,
    data: Mapping[str, Any],
    source: str,
    base: Path | None,
) -> None:
    for section, keys in data.items():
        if section not in schema:
            raise ConfigError(
                f"{source}: unknown section [{section}]; known sections: {', '.join(sorted(schema))}"
            )
        if not isinstance(keys, Mapping):
            raise ConfigError(f"{source}: [{section}] must be a table")
        for name, value in keys.items():
            if name not in schema[section]:
                raise ConfigError(f"{source}: unknown key {section}.{name}")
            key = schema[section][name]
            values[section][name] = _coerce(value, key, f"{source}: {section}.{name}", base)
            origins[(section, name)] = source


def read_text(path: Path) -> str:
    """A configuration file's text: UTF-8, with or without the byte-order mark Windows
    Notepad puts in front. Any other encoding (GBK/GB18030, "ANSI") is refused with what to
    do, rather than guessed: a wrongly guessed venue name would end up in signed records."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror}") from err
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: 不是 UTF-8 编码（第 {err.start} 字节起），可能是用 GBK/ANSI 保存的；"
            "请用记事本“另存为”并选择“UTF-8”编码后重试 / "
            f"not UTF-8 (from byte {err.start}; perhaps saved as GBK or \"ANSI\"): "
            "save it again as UTF-8 (Notepad: Save As, Encoding: UTF-8) and retry"
        ) from err


def system_files() -> list[Path]:
    return sorted(SYSTEM_DIR.glob("*.toml")) if SYSTEM_DIR.is_dir() else []


def load(
    schema: Schema,
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    files: list[Path] | None = None,
    require: tuple[str, ...] = (),
) -> Config:
    """Build the effective configuration.

    ``overrides`` maps ``"section.key"`` to values from flags (``None`` = flag not given).
    ``require`` names the sections whose required keys must be set for this program.
    """
    values = {s: {k: key.default for k, key in keys.items()} for s, keys in schema.items()}
    origins = {(s, k): "default" for s, keys in schema.items() for k in keys}
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"configuration file {config_file} does not exist")
        files = [config_file]
    elif files is None:
        files = system_files()
    for path in files:
        try:
            data = tomllib.loads(read_text(path))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: not valid TOML: {err}") from err
        _apply(values, origins, schema, data, str(path), path.parent.resolve())
    env = os.environ if env is None else env
    for name, text in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key_name = name[len(ENV_PREFIX) :].lower().partition("__")
        if section not in schema or key_name not in schema[section]:
            raise ConfigError(f"environment variable {name}: unknown key {section}.{key_name}")
        key = schema[section][key_name]
        raw = _parse_text_value(text, key)
        values[section][key_name] = _coerce(raw, key, f"environment {name}", Path.cwd())
        origins[(section, key_name)] = f"environment {name}"
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key_name = dotted.partition(".")
        if section not in schema or key_name not in schema[section]:
            raise ConfigError(f"flag: unknown key {dotted}")
        key = schema[section][key_name]
        if isinstance(value, str):
            value = _parse_text_value(value, key)
        values[section][key_name] = _coerce(value, key, f"flag {dotted}", Path.cwd())
        origins[(section, key_name)] = "flag"
    consulted = ", ".join(str(p) for p in files) or "no configuration file"
    for section in require:
        for name, key in schema[section].items():
            if key.required and values[section][name] in (None, ""):
                raise ConfigError(
                    f"missing key {section}.{name} (looked in: {consulted}; or set "
                    f"{ENV_PREFIX}{section.upper()}__{name.upper()})"
                )
    return Config(values, origins, schema)


def to_toml(values: Mapping[str, Mapping[str, Any]]) -> str:
    """A TOML rendering of configuration values (for ``config show`` and bundles)."""
    lines: list[str] = []
    for section, keys in values.items():
        lines.append(f"[{section}]")
        for name, value in keys.items():
            if value is None:
                lines.append(f"# {name} = (not set)")
            else:
                lines.append(f"{name} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
