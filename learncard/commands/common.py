"""Pieces every program group shares: ``config show``."""

from __future__ import annotations

import json

import click

from learncard import config as configuration
from learncard import context
from learncard.settings import SECTIONS_OF


def config_group(program: str) -> click.Group:
    @click.group("config")
    def group() -> None:
        """The effective configuration."""

    @group.command("show")
    @click.option("--json", "as_json", is_flag=True, help="JSON instead of TOML.")
    @click.option("--origins", is_flag=True, help="Say where each value came from.")
    @click.pass_context
    def show(ctx: click.Context, as_json: bool, origins: bool) -> None:
        """Print the effective configuration, secrets masked."""
        cfg = context.get(ctx).load(program)
        values = {k: v for k, v in cfg.masked().items() if k in SECTIONS_OF[program]}
        if as_json:
            click.echo(json.dumps(values, indent=2, ensure_ascii=False))
        else:
            click.echo(configuration.to_toml(values), nl=False)
        if origins:
            for (section, key), origin in sorted(cfg.origins.items()):
                if origin != "default":
                    click.echo(f"# {section}.{key}: {origin}", err=True)

    return group
