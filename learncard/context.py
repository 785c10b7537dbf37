"""What every command gets from the root of the command line: where configuration
comes from, and how to turn it into an effective :class:`learncard.config.Config`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from learncard import config
from learncard.settings import REQUIRED_BY, SCHEMA


@dataclass
class Context:
    config_file: Path | None = None
    sets: list[str] = field(default_factory=list)

    def load(self, program: str, overrides: dict[str, Any] | None = None) -> config.Config:
        """The effective configuration for ``program`` (kiosk, gateway or provision)."""
        merged: dict[str, Any] = {}
        for item in self.sets:
            dotted, sep, value = item.partition("=")
            if not sep:
                raise config.ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE")
            merged[dotted.strip()] = value
        merged.update(overrides or {})
        return config.load(
            SCHEMA, config_file=self.config_file, overrides=merged, require=REQUIRED_BY[program]
        )


def get(ctx: click.Context) -> Context:
    obj = ctx.find_object(Context)
    if obj is None:
        obj = ctx.ensure_object(Context)
    return obj


def _set_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        get(ctx).config_file = value


def _add_sets(ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> None:
    get(ctx).sets.extend(value)


def _options() -> list[click.Option]:
    return [
        click.Option(
            ["--config"], type=click.Path(path_type=Path, dir_okay=False), expose_value=False,
            callback=_set_config, is_eager=True,
            help="Read this TOML file instead of /etc/learncard/*.toml.",
        ),
        click.Option(
            ["--set", "sets"], multiple=True, metavar="SECTION.KEY=VALUE", expose_value=False,
            callback=_add_sets, help="Override one setting (may be repeated).",
        ),
    ]


def config_options(func: Any) -> Any:
    """``--config`` and ``--set`` on a program group (they may also stand before it)."""
    func.__click_params__ = [*getattr(func, "__click_params__", []), *reversed(_options())]
    return func


def spread_config_options(command: click.Command) -> None:
    """Give every command of the tree ``--config`` and ``--set``, so they may stand at any
    level (``learncard kiosk status --config kiosk.toml``). Called once the tree is built,
    so commands other modules register get them too. Given at several levels, the last
    ``--config`` wins and the ``--set`` values add up, left to right."""
    names = {opt for param in command.params for opt in getattr(param, "opts", [])}
    if "--config" not in names:
        command.params.extend(_options())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            spread_config_options(sub)


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
