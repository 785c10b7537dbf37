"""`learncard gateway learner statement` (a learner's 学习证明) and `learncard verify` (its QR
summary, checked offline)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from learncard import context
from learncard.commands.gateway_reports import county_files, read_corrected


@click.group("learner")
def learner_group() -> None:
    """One learner's data at the gateway."""


@learner_group.command("statement")
@click.argument("code")
@click.option("--pdf", "pdf_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the 学习证明 as a PDF here (A4, with the signed QR summary).")
@click.option("--name", help="Print this name on it (no name is printed otherwise; never stored).")
@click.option("--county-name", default="", help="The county's name for the heading.")
@click.option("--json", "as_json", is_flag=True, help="Print the statement and its QR text as JSON.")
@click.pass_context
def statement(ctx: click.Context, code: str, pdf_file: Path | None, name: str | None, county_name: str,
              as_json: bool) -> None:
    """A learner's own record: courses, credited hours per term and venue (voided records left
    out, corrections applied), with a QR code holding a summary signed by the county's
    statements key that anyone verifies offline with `learncard verify`."""
    from zoneinfo import ZoneInfo

    from gateway.learner_statement import build, render_pdf
    from provisioning.sheet import cjk_font
    from records import summary
    from records.ids import format_learner_code, parse_learner_code
    from records.keys import private_key_from_pem

    try:
        code = format_learner_code(parse_learner_code(code))
    except ValueError as err:
        raise click.BadParameter(f"学员号有误 / {code!r}: {err}", param_hint="CODE") from err
    cfg = context.get(ctx).load("gateway")
    files = county_files(cfg)
    registry = files.registry()
    key_file = Path(cfg["gateway"]["statements_key"])
    try:
        key = private_key_from_pem(key_file.read_bytes())
    except (OSError, ValueError) as err:
        raise click.ClickException(f"县级证明签名密钥无法读取 / cannot read gateway.statements_key {key_file} "
                                   f"(make it with `learncard provision signer --purpose statements`): {err}") from err
    from records.keys import public_key_text

    kid = next((f"{s}/{v}" for s, e in registry.signers.items() if e.get("purpose") == summary.STATEMENTS_PURPOSE
                for v, text in e.get("keys", {}).items() if text == public_key_text(key)), None)
    if kid is None:
        raise click.ClickException("注册表中没有此证明签名密钥 / the registry names no statements signer with "
                                   "this key: run `learncard provision signer --purpose statements` and copy the "
                                   "registry and the key to the gateway")
    records, voided, zone_of = read_corrected(ctx, cfg)
    now = datetime.now(UTC)
    made = build(records, voided, code, zone_of)
    qr_text = summary.to_qr_text(summary.sign(made.summary(files.county_id, kid, int(now.timestamp())), key))
    if pdf_file is not None:
        names = {v: str(e.get("name", v)) for v, e in registry.venues.items()}
        pdf_file.write_bytes(render_pdf(made, qr_text, font=cjk_font(), county_name=county_name or files.county_id,
                                        venue_names=names, issued=now.astimezone(ZoneInfo("Asia/Shanghai")),
                                        name=name))
    if as_json:
        click.echo(json.dumps({**made.as_json(), "qr_text": qr_text}, ensure_ascii=False, indent=2))
        return
    for entry in made.courses:
        click.echo(f"{entry['course']:<24} {entry['attendances']:>4} 次  {entry['minutes'] / 60:>7.1f} 学时")
    for term, venue, minutes in made.rows:
        click.echo(f"{term:<14} {venue:<20} {minutes / 60:>7.1f} 学时")
    click.echo(f"total {made.total_minutes / 60:.1f} h; {made.voided_left_out} voided record(s) left out"
               + (f"; written to {pdf_file}" if pdf_file else ""))


@click.command("verify")
@click.argument("text", required=False)
@click.option("--image", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A photo or scan of the QR code (PNG/JPEG) instead of its text.")
@click.option("--registry", "registry_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              required=True, help="The county's signed registry (registry.jws, as published).")
@click.option("--issuer-key", required=True, help="The county's issuer public key (base64url, as published).")
@click.option("--county", "county_id", required=True, help="The county id.")
@click.option("--json", "as_json", is_flag=True, help="Print the verified summary as JSON.")
def verify(text: str | None, image: Path | None, registry_file: Path, issuer_key: str, county_id: str,
           as_json: bool) -> None:
    """Check a 学习证明's QR code offline: the county's issuer key vouches for the registry, the
    registry names the statements signer, the signer's key signed the summary. Exits 1 if any
    step fails."""
    from records import county, keys, summary
    from records.errors import RecordError

    if image is not None:
        import zxingcpp
        from PIL import Image

        found = zxingcpp.read_barcodes(Image.open(image))
        text = next((r.text for r in found if r.text.startswith(summary.QR_PREFIX)), None)
        if text is None:
            raise click.ClickException(f"图中没有学习证明二维码 / no learning-record QR code in {image}")
    if not text:
        raise click.UsageError("give the QR text or --image")
    try:
        registry = county.Registry(county.verify_document(registry_file.read_text().strip(),
                                                          keys.public_key_from_text(issuer_key), "registry",
                                                          county_id))
        result = summary.verify(text, county_id, lambda kid: registry.signer_key_for(kid, summary.STATEMENTS_PURPOSE))
    except RecordError as err:
        raise click.ClickException(f"核验未通过 / NOT verified: {err}") from err
    if as_json:
        click.echo(json.dumps({"verified": True, **result.as_json()}, ensure_ascii=False, indent=2))
        return
    click.echo(f"核验通过 / verified: learner {result.learner}, signed by {result.kid} of {result.county}")
    for term, venue, minutes in result.rows:
        click.echo(f"  {term:<14} {venue:<20} {minutes / 60:>7.1f} h")
    click.echo(f"  total {result.total_minutes / 60:.1f} h ({result.voided_left_out} voided record(s) left out)")


def register(cli: click.Group, gateway: click.Group) -> None:
    existing = gateway.commands.get("learner")  # `gateway learner export|erase|consent` (gateway_privacy)
    if isinstance(existing, click.Group):
        existing.add_command(statement)
    else:
        gateway.add_command(learner_group)
    cli.add_command(verify)
