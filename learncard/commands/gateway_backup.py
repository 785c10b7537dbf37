"""`learncard gateway backup` and `learncard gateway restore` (see :mod:`learncard.backup`)."""

from __future__ import annotations

from pathlib import Path

import click

from learncard import context


@click.command("backup")
@click.option("--to", "dest", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The backup file to write (SQLite file, or pg_dump's custom format).")
@click.pass_context
def backup_command(ctx: click.Context, dest: Path) -> None:
    """An online, consistent copy of the store while the gateway runs (SQLite's backup API;
    pg_dump for PostgreSQL)."""
    from learncard import backup

    try:
        path = backup.backup(context.get(ctx).load("gateway")["store"]["url"], dest)
    except backup.BackupError as err:
        raise click.ClickException(f"备份失败 / backup failed: {err}") from err
    click.echo(f"备份完成 / backup written: {path}")


@click.command("restore")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_context
def restore_command(ctx: click.Context, source: Path) -> None:
    """Put a backup in place of the store (stop the gateway first); the replaced store is
    kept beside it. Kiosks re-send what was receipted after the backup when asked."""
    from learncard import backup

    try:
        kept = backup.restore(context.get(ctx).load("gateway")["store"]["url"], source)
    except backup.BackupError as err:
        raise click.ClickException(f"恢复失败 / restore failed: {err}") from err
    click.echo(f"已恢复 / restored from {source}" + (f"; the replaced store is kept at {kept}" if kept else ""))


def register(gateway_group: click.Group) -> None:
    gateway_group.add_command(backup_command)
    gateway_group.add_command(restore_command)
