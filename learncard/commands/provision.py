"""`learncard provision`: county IT's tool — keys, kiosk enrolment, registry, broker."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import click

from learncard import context
from learncard.commands.common import config_group
from learncard.config import to_toml
from provisioning import broker, enroll, kiosk_readers, kiosks
from provisioning.errors import ProvisioningError
from provisioning.files import write_atomic
from provisioning.home import CountyHome
from records.county import VENUE_LEVELS


@click.group("provision")
@context.config_options
@click.option("--home", "home_path", type=click.Path(path_type=Path, file_okay=False),
              help="The county home folder (default: provision.home from the configuration).")
@click.pass_context
def group(ctx: click.Context, home_path: Path | None) -> None:
    """County IT: the county's keys, kiosk enrolment and revocation, the broker's configuration."""
    ctx.meta["home_path"] = home_path


group.add_command(config_group("provision"))


def home_folder(ctx: click.Context) -> Path:
    chosen = ctx.meta.get("home_path")
    return chosen or Path(context.get(ctx).load("provision")["provision"]["home"])


def open_home(ctx: click.Context) -> CountyHome:
    return CountyHome.open(home_folder(ctx))


def out(data: Any, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text)


@group.command("init")
@click.option("--county", required=True, help="County id, [a-z0-9-]{3,40}.")
@click.option("--home-page", required=True, help="The county's IRI, used as xAPI account home page.")
@click.option("--broker-host", "broker_hosts", multiple=True, default=["localhost", "127.0.0.1"],
              show_default=True, help="Names and addresses the broker's certificate is valid for.")
@click.option("--broker-port", type=int, default=8883, show_default=True, help="The broker's TLS port.")
@click.option("--json", "as_json", is_flag=True, help="Print what was made as JSON.")
@click.pass_context
def init(ctx: click.Context, county: str, home_page: str, broker_hosts: tuple[str, ...], broker_port: int,
         as_json: bool) -> None:
    """Create a county home: issuer key, device CA, broker and gateway identities, empty
    signed registry, revocation list and staff roster. Never overwrites an existing home."""
    path = home_folder(ctx)
    home = CountyHome.init(path, county, home_page, list(broker_hosts))
    gateway_toml = path / "gateway" / "gateway.toml"
    write_atomic(gateway_toml, "# written by `learncard provision init`\n"
                 + to_toml(home.gateway_values(broker_hosts[0], broker_port)))
    out({"home": str(path), "county": county, "issuer_public_key": home.issuer_public_text,
         "gateway_config": str(gateway_toml)}, as_json,
        f"county home for {county} made at {path}\n"
        f"  issuer public key: {home.issuer_public_text}\n"
        f"  gateway configuration: {gateway_toml}\n"
        "  keep keys/ safe and backed up: see docs/county-keys.md")


def _request_from(request_file: Path | None, generate: bool, kiosk: str | None, bundle: Path) -> enroll.Request:
    if generate:
        if not kiosk:
            raise click.UsageError("--generate needs --kiosk ID")
        enroll.check_kiosk_id(kiosk)
        click.echo("警告 / WARNING: --generate makes the kiosk's private keys on this computer. "
                   "Use it for a lab only: a real kiosk makes its own keys (`learncard kiosk enroll-request`).",
                   err=True)
        bundle.mkdir(parents=True, exist_ok=True)
        if (bundle / "kiosk.key").exists():
            raise ProvisioningError(f"{bundle} already holds kiosk keys; choose another --out")
        path = enroll.make_request(bundle, kiosk)
        return enroll.read_request(path.read_text())
    if request_file is None:
        raise click.UsageError("give --request FILE (from the kiosk) or --generate --kiosk ID")
    try:
        token = request_file.read_text()
    except OSError as err:
        raise ProvisioningError(f"cannot read {request_file}: {err.strerror}") from err
    request = enroll.read_request(token)
    if kiosk and kiosk != request.kiosk:
        raise ProvisioningError(f"the request is for kiosk {request.kiosk!r}, not {kiosk!r}")
    return request


@group.command("enroll")
@click.option("--request", "request_file", type=click.Path(path_type=Path, dir_okay=False),
              help="The kiosk's enroll-request.jws.")
@click.option("--generate", is_flag=True, help="Lab only: make the kiosk's keys here (with a warning).")
@click.option("--kiosk", help="Kiosk id (with --generate; or to double-check the request).")
@click.option("--venue", required=True, help="Venue id, [a-z0-9-]{3,40}.")
@click.option("--venue-name", default="", help="The venue's name as shown on the kiosk.")
@click.option("--level", required=True, type=click.Choice(VENUE_LEVELS), help="The venue's level.")
@click.option("--township", help="The township (乡镇/街道) code the venue belongs to, for statistics.")
@click.option("--township-name", default="", help="The township's name, e.g. 城关镇.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Where to write the kiosk's bundle (default: <home>/kiosks/<kiosk>).")
@click.option("--broker-host", default="localhost", show_default=True, help="The broker as kiosks reach it.")
@click.option("--broker-port", type=int, default=8883, show_default=True, help="The broker's TLS port.")
@click.option("--readers", default="nfc,camera", show_default=True,
              help="The kiosk's readers, comma-separated: nfc, camera, hid, simulated.")
@click.option("--nfc-device", default="usb", show_default=True,
              help="nfcpy device string: usb, usb:054c:06c3, tty:AMA0:pn532 … (docs/readers.md).")
@click.option("--camera-source", default="", help="The camera's /dev/v4l/by-id/…-video-index0 (default: the first).")
@click.option("--hid-device", default="", help="A code scanner's /dev/input/by-id/…-event-kbd (with --readers hid).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def enroll_command(ctx: click.Context, request_file: Path | None, generate: bool, kiosk: str | None,
                   venue: str, venue_name: str, level: str, township: str | None, township_name: str,
                   out_dir: Path | None, broker_host: str, broker_port: int, readers: str, nfc_device: str,
                   camera_source: str, hid_device: str, as_json: bool) -> None:
    """Enrol a kiosk: check its request, sign its TLS certificate, add its signing key to the
    registry and write its configuration bundle (the file the kiosk agent reads)."""
    home = open_home(ctx)
    home.kiosk_ca()  # a home without a kiosk CA is told how to make one, before anything changes
    chosen = kiosk_readers.readers_section(readers, nfc_device=nfc_device, camera_source=camera_source,
                                           hid_device=hid_device)
    bundle = out_dir or home.path_of(f"kiosks/{kiosk or 'new'}")
    request = _request_from(request_file, generate, kiosk, bundle)
    if out_dir is None:
        bundle = home.path_of(f"kiosks/{request.kiosk}")
    doc = enroll.register(home, request, venue, level, venue_name)
    if township:
        from provisioning import venues

        doc = venues.place(home, venue, township, township_name)
    values = enroll.write_bundle(home, request, venue, venue_name, bundle, broker_host, broker_port)
    values["readers"] = chosen
    write_atomic(bundle / "kiosk.toml", "# written by `learncard provision enroll`\n" + to_toml(values))
    acl = broker.refresh_acl(home)
    out({"kiosk": request.kiosk, "bundle": str(bundle), "registry_version": doc.version,
         "acl": str(acl) if acl else None}, as_json,
        f"kiosk {request.kiosk} enrolled at {venue} ({level}); registry version {doc.version}\n"
        f"  bundle: {bundle} (copy it to the kiosk beside its keys)"
        + (f"\n  broker ACL rewritten: {acl} — reload the broker (SIGHUP)" if acl else ""))


@group.command("broker-config")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for mosquitto.conf and acl (default: <home>/broker).")
@click.option("--port", type=int, default=8883, show_default=True, help="The TLS listener's port.")
@click.option("--address", default="0.0.0.0", show_default=True,  # noqa: S104 (the broker serves kiosks)
              help="The listener's address.")
@click.option("--user", default="mosquitto", show_default=True, help="The user Mosquitto runs as.")
@click.option("--json", "as_json", is_flag=True, help="Print the paths as JSON.")
@click.pass_context
def broker_config(ctx: click.Context, out_dir: Path | None, port: int, address: str, user: str,
                  as_json: bool) -> None:
    """Write Mosquitto's configuration: TLS with the device and kiosk CAs, client ids tied to
    certificate identities, the ACL from the registry, persistence, queues that never drop
    QoS 1 messages. Re-run it on a home made before the kiosk CA: it makes the kiosk CA."""
    home = open_home(ctx)
    folder = out_dir or home.path_of("broker")
    conf, acl = broker.write(home, folder, port=port, address=address, user=user)
    out({"config": str(conf), "acl": str(acl)}, as_json,
        f"wrote {conf} and {acl}\n  start: mosquitto -c {conf}\n"
        f"  the broker's key must be readable by the user {user!r}")


@group.command("pages")
@click.option("--json", "as_json", is_flag=True, help="Print the kinds written as JSON.")
@click.pass_context
def pages_command(ctx: click.Context, as_json: bool) -> None:
    """Write the signed pages of the registry, revocation list, staff roster and programme
    (`<kind>.pages/`) where a home made before pages has none; every save writes them anyway.
    The documents' versions do not change. Copy the folders next to the gateway's files."""
    written = open_home(ctx).page_documents()
    out({"written": written}, as_json,
        f"wrote the pages of {', '.join(written)}" if written else "every document's pages are up to date")


@group.command("revoke")
@click.argument("kiosk")
@click.option("--reason", default="revoked by county IT", show_default=True, help="Kept in the registry.")
@click.option("--broker-pid", type=click.Path(path_type=Path, dir_okay=False),
              help="Mosquitto's pid file: send it SIGHUP so the new ACL holds at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def revoke(ctx: click.Context, kiosk: str, reason: str, broker_pid: Path | None, as_json: bool) -> None:
    """Revoke a kiosk: the registry marks it revoked (the gateway refuses its records once it
    reloads) and the broker's ACL loses its entry (it can publish nothing)."""
    home = open_home(ctx)
    doc = kiosks.revoke(home, kiosk, reason)
    acl = broker.refresh_acl(home)
    reloaded = False
    if broker_pid is not None:
        os.kill(int(broker_pid.read_text().strip()), signal.SIGHUP)
        reloaded = True
    out({"kiosk": kiosk, "registry_version": doc.version, "acl": str(acl) if acl else None,
         "broker_reloaded": reloaded}, as_json,
        f"kiosk {kiosk} revoked; registry version {doc.version}\n"
        "  reload the gateway (SIGHUP) so it refuses the kiosk's records at once"
        + ("" if reloaded else "\n  reload the broker (SIGHUP) so the new ACL holds"))


@group.command("signer")
@click.argument("signer", required=False)
@click.option("--purpose", type=click.Choice(["corrections", "statements"]), default="corrections",
              show_default=True, help="What the registry lets this signer sign: corrections (records) or "
              "statements (the summary on a learner's 学习证明).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def signer(ctx: click.Context, signer: str | None, purpose: str, as_json: bool) -> None:
    """Make a county signer's key (gateway/SIGNER.key in the county home, SIGNER by default
    county-PURPOSE; a new key version if it has one) and name it in the registry with its
    purpose. Copy the key to the gateway host (gateway.corrections_key / gateway.statements_key)
    and reload the gateway's registry (docs/county-keys.md)."""
    from provisioning import signers

    signer = signer or f"county-{purpose}"
    doc, version, path = signers.add(open_home(ctx), signer, purpose)
    out({"signer": signer, "purpose": purpose, "key_version": version, "key": str(path),
         "registry_version": doc.version}, as_json,
        f"county signer {signer} ({purpose}) key version {version}: {path}; registry version {doc.version}\n"
        f"  copy the key to the gateway host (gateway.{purpose}_key) and reload the gateway (SIGHUP)")


@group.command("rekey")
@click.option("--request", "request_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A new enroll-request.jws from the kiosk.")
@click.option("--generate", is_flag=True, help="Lab only: make the new key here.")
@click.option("--kiosk", help="Kiosk id (with --generate).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="With --generate: where to write the new key.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def rekey(ctx: click.Context, request_file: Path | None, generate: bool, kiosk: str | None,
          out_dir: Path | None, as_json: bool) -> None:
    """Add a new signing-key version for a kiosk; records signed with older versions still verify."""
    home = open_home(ctx)
    folder = out_dir or home.path_of(f"kiosks/{kiosk}/rekey")
    request = _request_from(request_file, generate, kiosk, folder)
    doc, version = kiosks.rekey(home, request)
    out({"kiosk": request.kiosk, "key_version": version, "signing_public_key": request.signing_key,
         "registry_version": doc.version}, as_json,
        f"kiosk {request.kiosk} now signs with key version {version} (set kiosk.key_version = {version} "
        f"and kiosk.signing_public_key = {request.signing_key!r}); "
        f"registry version {doc.version}")


@group.group("kiosks")
def kiosks_group() -> None:
    """The kiosks in the registry."""


@kiosks_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def kiosks_list(ctx: click.Context, as_json: bool) -> None:
    """Every kiosk: venue, level, status, key versions."""
    rows = kiosks.listing(open_home(ctx))
    out(rows, as_json, "\n".join(
        f"{r['kiosk']:<24} {r['venue']:<20} {r['level'] or '':<17} {r['status']:<8} keys {r['key_versions']}"
        for r in rows) or "no kiosks enrolled")


@kiosks_group.command("show")
@click.argument("kiosk")
@click.option("--json", "as_json", is_flag=True, help="Print the entry as JSON.")
@click.pass_context
def kiosks_show(ctx: click.Context, kiosk: str, as_json: bool) -> None:
    """One kiosk's registry entry (public keys included; nothing secret)."""
    entry = kiosks.show(open_home(ctx), kiosk)
    out(entry, as_json, "\n".join(f"{k}: {v}" for k, v in entry.items()))



