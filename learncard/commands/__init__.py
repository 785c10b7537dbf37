"""Subcommand groups. Each program has its own module; this only registers them."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    from learncard.commands import (
        demo,
        gateway,
        gateway_protocol,
        gateway_relay,
        kiosk,
        kiosk_enroll,
        provision,
        provision_cards,
    )

    kiosk.group.add_command(kiosk_enroll.command)
    from learncard.commands import kiosk_ui

    kiosk.group.add_command(kiosk_ui.command)
    gateway_relay.register(gateway.group)
    gateway_protocol.register(gateway.group)
    from learncard.commands import gateway_programme

    gateway_programme.register(gateway.group)
    from learncard.commands import gateway_review

    gateway_review.register(gateway.group)
    from learncard.commands import gateway_reports

    gateway_reports.register(gateway.group)
    from learncard.commands import gateway_privacy

    gateway_privacy.register(gateway.group)
    from learncard.commands import gateway_correct

    gateway_correct.register(gateway.group)
    from learncard.commands import gateway_statement

    gateway_statement.register(cli, gateway.group)
    provision_cards.register(provision.group)
    from learncard.commands import provision_programme

    provision_programme.register(provision.group)
    from learncard.commands import provision_consumers

    provision.group.add_command(provision_consumers.group)
    provision.group.add_command(provision_consumers.venues_group)
    from learncard.commands import provision_gateways

    provision.group.add_command(provision_gateways.group)
    cli.add_command(kiosk.group)
    cli.add_command(gateway.group)
    cli.add_command(provision.group)
    cli.add_command(demo.command)
    from learncard.commands import install

    cli.add_command(install.install_command)
    cli.add_command(install.uninstall_command)
    kiosk.group.add_command(install.install_bundle_command)
    from learncard.commands import sneakernet

    sneakernet.register(kiosk.group, gateway.group)
    from learncard.commands import gateway_backup

    gateway_backup.register(gateway.group)
    from learncard.commands import renew

    renew.register(kiosk.group, provision.group)
