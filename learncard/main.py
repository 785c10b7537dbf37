"""The root of the ``learncard`` command."""

from __future__ import annotations

import sys

import click

from learncard import context
from learncard.commands import register
from learncard.config import ConfigError
from learncard.errors import user_errors


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@context.config_options
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv: debug).")
@click.version_option(package_name="learncard")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """LearnCard: community-learning check-in kiosks and the county gateway behind them.

    \b
    learncard kiosk ...      the venue's kiosk: agent, touchscreen, taps, sessions
    learncard gateway ...    the county gateway: ingest, relay to the LRS, reports
    learncard provision ...  county IT: keys, kiosk enrolment, cards, staff
    learncard demo           a whole venue in a box on this machine
    """
    context.get(ctx)
    context.setup_logging(verbose)


register(cli)
context.spread_config_options(cli)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("已取消 / aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except ConfigError as err:
        click.echo(f"配置错误 / configuration error: {err}", err=True)
        sys.exit(2)
    except user_errors() as err:
        click.echo(f"错误 / error: {err}", err=True)
        sys.exit(1)
