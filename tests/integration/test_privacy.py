"""Personal data (PIPL) at the gateway, against the real test LRS: a learner's export, their
erasure (statements voided at the LRS, gone from reports and both exports, a county-signed
erasure record, every chain still verifying), consent with a guardian for minors, and the
purge of expired records with tombstones that keep the chain of hashes checkable."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.lrs import LrsClient
from gateway.privacy import purge, tombstones
from gateway.relay import Relay
from gateway.store import Store
from gateway.xapi import statement_id
from learncard.config import to_toml
from learncard.main import cli
from records import county as county_docs
from records import keys
from records.chain import verify_chain
from records.ids import learner_code
from records.record import parse_unverified
from tests.integration.test_relay import HOME, fill, lrs  # noqa: F401 (lrs: the module's test LRS)
from tests.support.county import TestCounty
from tests.support.lrs import Lrs

ERASED, OTHER = learner_code(123_456_789_012), learner_code(222_333_444_555)


@pytest.fixture
def setup(tmp_path: Path, county: TestCounty, lrs: Lrs) -> tuple[Path, list, Path]:  # noqa: F811
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    recs = fill(store, county, tmp_path)
    Relay(store, LrsClient(lrs.endpoint, "lc", "secret"), HOME).step()
    store.close()
    config = tmp_path / "gw.toml"
    config.write_text(to_toml({"gateway": {"county": county.county_id, "issuer_public_key": county.issuer_public,
                                           "registry": str(tmp_path / "registry.jws")},
                               "store": {"url": f"sqlite:///{tmp_path / 'gateway.sqlite3'}"},
                               "lrs": {"endpoint": lrs.endpoint, "username": "lc", "password": "secret",
                                       "home_page": HOME},
                               "privacy": {"retention_days": "rating=30,attendance.manual=30"}}))
    issuer = tmp_path / "issuer.key"
    issuer.write_bytes(keys.private_key_to_pem(county.issuer))
    return config, recs, issuer


def cli_ok(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["gateway", "--config", str(config), *args])
    assert 0 == result.exit_code, (result.output, result.exception)
    return result.output


def test_export_then_erase(setup: tuple[Path, list, Path], county: TestCounty, lrs: Lrs,  # noqa: F811
                           tmp_path: Path) -> None:
    config, recs, issuer = setup
    held = json.loads(cli_ok(config, "learner", "export", ERASED))
    assert ["attendance.checkin", "attendance.checkout", "rating"] == [r["type"] for r in held["records"]]
    assert all(r["record"].count(".") == 2 for r in held["records"])  # the records as signed

    client = LrsClient(lrs.endpoint, "lc", "secret")
    checkout, rating, manual = recs[2], recs[3], recs[4]
    assert client.get(statement_id(checkout.id)) is not None
    result = json.loads(cli_ok(config, "learner", "erase", ERASED, "--issuer-key", str(issuer), "--json"))
    assert (3, 2, 2) == (result["records"], result["statements"], result["voided"])

    # voided at the LRS: gone from statement queries, still there as voided
    assert client.get(statement_id(checkout.id)) is None
    assert client.get(statement_id(rating.id)) is None
    answer = client._send("GET", f"{client.statements_url}?voidedStatementId={statement_id(checkout.id)}")
    assert 200 == answer.status
    assert client.get(statement_id(manual.id)) is not None  # another learner: untouched

    # the county-signed erasure record
    erasure = county_docs.verify_document(result["erasure"], county.issuer.public_key(), "erasure", county.county_id)
    assert ERASED == erasure.body["learner"] and statement_id(checkout.id) in erasure.body["statements_voided"]

    # gone from reports and both exports
    out = tmp_path / "report"
    cli_ok(config, "report", "--out", str(out), "--star-min-hours", "0.5", "--star-min-attendances", "1",
           "--star-min-months", "1")
    stats = json.loads((out / "statistics.json").read_text())
    assert [OTHER] == [r["learner"] for r in stats["tables"]["star-candidates"]["rows"]]
    assert ERASED not in (out / "report.json").read_text()
    lines = cli_ok(config, "export")
    assert ERASED not in lines and OTHER in lines
    cli_ok(config, "export", "--sqlite", str(tmp_path / "analyst.db"))
    db = sqlite3.connect(tmp_path / "analyst.db")
    assert [] == db.execute("SELECT * FROM attendance_checkout").fetchall()
    assert [(OTHER,)] == db.execute("SELECT learner FROM attendance_manual").fetchall()

    # the relay never sends them again, even from the first record
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    again = Relay(store, client, HOME, name="from-scratch")
    while again.step():
        pass
    assert 2 == again.stats.delivered  # the manual attendance and the enrolment only
    assert client.get(statement_id(checkout.id)) is None

    # the signed records stay: the kiosk's chain still verifies
    tokens = store.tokens(recs[0].kiosk)
    assert 6 == len(tokens)
    assert verify_chain([parse_unverified(t) for t in tokens]).ok
    store.close()
    assert json.loads(cli_ok(config, "learner", "export", ERASED))["erasure"]


def test_erasure_waits_for_the_lrs(setup: tuple[Path, list, Path], tmp_path: Path) -> None:
    config, _, issuer = setup
    result = CliRunner().invoke(cli, ["gateway", "--config", str(config), "--set", "lrs.endpoint=http://127.0.0.1:9/x",
                                      "learner", "erase", ERASED, "--issuer-key", str(issuer)])
    assert 0 != result.exit_code and "run it again" in result.output
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    assert [] == store.query("SELECT * FROM erasures")  # nothing half done
    store.close()


def test_consent_needs_a_guardian_for_a_minor(setup: tuple[Path, list, Path], county: TestCounty) -> None:
    config, _, issuer = setup
    child = learner_code(300_000_000_001)
    refused = CliRunner().invoke(cli, ["gateway", "--config", str(config), "learner", "consent", child,
                                       "--issuer-key", str(issuer), "--minor"])
    assert 0 != refused.exit_code and "under 14, a guardian" in refused.output  # the PIPL's age by default
    older = CliRunner().invoke(cli, ["gateway", "--config", str(config), "--set", "privacy.guardian_age=16", "learner",
                                     "consent", child, "--issuer-key", str(issuer), "--minor"])
    assert 0 != older.exit_code and "under 16, a guardian" in older.output  # the county's setting, as at its kiosks
    silly = CliRunner().invoke(cli, ["gateway", "--config", str(config), "--set", "privacy.guardian_age=40", "learner",
                                     "consent", child, "--issuer-key", str(issuer), "--minor", "--guardian-consent"])
    assert 0 != silly.exit_code and "expected 1..18" in silly.output
    cli_ok(config, "learner", "consent", child, "--issuer-key", str(issuer), "--minor", "--guardian-consent",
           "--how", "walk-in")
    (token,) = json.loads(cli_ok(config, "learner", "export", child))["consents"]
    consent = county_docs.verify_document(token, county.issuer.public_key(), "consent", county.county_id)
    assert (True, True, 14, "walk-in") == (consent.body["minor"], consent.body["guardian_consent"],
                                           consent.body["guardian_age"], consent.body["how"])
    assert {"rating": 30, "attendance.manual": 30} == consent.body["retention_days"]


def test_purge_keeps_tombstones_that_link_the_chain(setup: tuple[Path, list, Path], tmp_path: Path) -> None:
    config, recs, _ = setup
    dry = json.loads(cli_ok(config, "purge", "--dry-run", "--now", "2026-12-31", "--json"))
    assert {"rating": 1, "attendance.manual": 1} == dry
    assert {"attendance.manual": 0, "rating": 0} == json.loads(cli_ok(config, "purge", "--now", "2026-12-01",
                                                                      "--json"))  # 8 days: not expired
    cli_ok(config, "purge", "--now", "2026-12-31")
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    kept = {t: parse_unverified(t) for t in store.tokens(recs[0].kiosk)}
    assert 4 == len(kept) and not {r.type for r in kept.values()} & {"rating", "attendance.manual"}
    stones = tombstones(store, recs[0].kiosk)
    assert [4, 5] == [s["seq"] for s in stones]
    # the chain of hashes runs unbroken through records and tombstones
    links = {r.seq: (r.hash, r.prev) for r in kept.values()} | {s["seq"]: (s["hash"], s["prev"]) for s in stones}
    assert all(links[seq][1] == links[seq - 1][0] for seq in range(2, 7))
    assert {"rating": 0, "attendance.manual": 0} == purge(store, {"rating": 30, "attendance.manual": 30},
                                                          datetime(2027, 1, 1, tzinfo=UTC))
    store.close()


def test_the_county_roster_forgets_the_learner(tmp_path: Path) -> None:
    """After an erasure the only link from code to person, the card roster, forgets it."""
    from provisioning.home import CountyHome
    from records.county import revoked_cards

    home = tmp_path / "county"

    def provision(*args: str) -> object:
        result = CliRunner().invoke(cli, ["provision", "--home", str(home), *args])
        assert 0 == result.exit_code, (result.output, result.exception)
        return json.loads(result.output) if "--json" in args else result.output

    provision("init", "--county", "county-3301", "--home-page", "https://learn.county-3301.example")
    (first,) = provision("cards", "issue", "--name", "王小明", "--json")
    code = first["learner_code"]
    (second,) = provision("cards", "issue", "--learner", code, "--name", "王小明", "--json")
    (other,) = provision("cards", "issue", "--name", "李四", "--json")
    result = provision("cards", "forget", code, "--json")
    assert sorted([first["card"], second["card"]]) == result["cards"]
    index = (home / "cards" / "index.jsonl").read_text(encoding="utf-8")
    assert "王*明" not in index and "李*" in index
    assert not Path(first["credential"]).exists() and Path(other["credential"]).exists()
    revoked = revoked_cards(CountyHome.open(home).load_document("revoked-cards"))
    assert {first["card"], second["card"]} <= revoked and other["card"] not in revoked
