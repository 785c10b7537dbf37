"""A learner's own record: `gateway learner statement CODE --pdf` from the records as corrected
(a county void left out, a linked walk-in counted under the code), and its QR summary checked
offline with `learncard verify` — from the QR text and from the printed page's picture."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.relay import link_learner
from gateway.store import Store
from learncard.config import to_toml
from records import keys, summary
from records.ids import learner_code
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain, payload
from tests.support.venue import ROOT

LEARNER = learner_code(330_100_000_123)
TEMP = "T000000000555"
SIGNERS = {"county-corrections": "corrections", "county-statements": "statements"}


def learncard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "learncard", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def gateway(tmp_path: Path, county: TestCounty) -> Path:
    """A gateway configuration and store holding a learner's autumn and spring study."""
    registry = county.registry({"k-a-1": "v-a", "k-b-1": "v-b"}, signers=SIGNERS)
    (tmp_path / "registry.jws").write_text(registry.token)
    for signer in SIGNERS:
        (tmp_path / f"{signer}.key").write_bytes(keys.private_key_to_pem(county.kiosk_key(signer)))
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    ingest = Ingest(store, files, lambda: datetime(2026, 11, 30, tzinfo=UTC))
    a = KioskChain(county, kiosk="k-a-1", venue="v-a", time=datetime(2026, 10, 10, 1, 0, tzinfo=UTC))
    session = str(uuid.uuid4())
    rule = {"min_share_percent": 50, "rounding_minutes": 15, "cap_at_session": True,
            "daily_self_study_cap_minutes": 240}
    a.next("session.opened", {"session_id": session, "course": "太极拳", "category": "culture", "staff_id": "s-0001",
                              "planned_start": "2026-10-10T09:00:00.000+08:00",
                              "planned_end": "2026-10-10T10:30:00.000+08:00", "credit_rule": rule})
    for minutes in (90, 60):
        checkin = a.next("attendance.checkin", {"learner": LEARNER, "card": "ab" * 8, "session_id": session,
                                                "how": "nfc", "groups": ["elder"]})
        a.next("attendance.checkout", {"learner": LEARNER, "card": "ab" * 8, "session_id": session,
                                       "checkin_id": checkin.id, "checkin_time": checkin.event["time"],
                                       "seconds_present": minutes * 60, "minutes_credited": minutes, "how": "nfc"})
    b = KioskChain(county, kiosk="k-b-1", venue="v-b", time=datetime(2026, 3, 5, 2, 0, tzinfo=UTC))
    b.next("attendance.manual", {"learner": TEMP, "temporary": True, "session_id": None, "staff_id": "s-0002",
                                 "reason": "临时学员", "minutes_credited": 45})
    assert 5 == ingest.handle("k-a-1", payload(a.made)).stored
    assert 1 == ingest.handle("k-b-1", payload(b.made)).stored
    link_learner(store, TEMP, LEARNER)
    store.close()
    config = tmp_path / "gateway.toml"
    config.write_text(to_toml({
        "gateway": {"county": county.county_id, "issuer_public_key": county.issuer_public,
                    "registry": str(tmp_path / "registry.jws"),
                    "corrections_key": str(tmp_path / "county-corrections.key"),
                    "statements_key": str(tmp_path / "county-statements.key")},
        "store": {"url": f"sqlite:///{tmp_path / 'gateway.sqlite3'}"}}))
    # the second tai-chi attendance was recorded twice: county IT voids its check-in
    voided = learncard("gateway", "--config", str(config), "correct", "void", a.made[3].id, "--reason", "duplicate")
    assert 0 == voided.returncode, voided.stderr
    return config


def verify_args(county: TestCounty, tmp_path: Path) -> list[str]:
    return ["verify", "--registry", str(tmp_path / "registry.jws"), "--issuer-key", county.issuer_public,
            "--county", county.county_id, "--json"]


def test_statement_pdf_and_its_qr_verify_offline(gateway: Path, county: TestCounty, tmp_path: Path) -> None:
    pdf = tmp_path / "statement.pdf"
    made = learncard("gateway", "--config", str(gateway), "learner", "statement", LEARNER, "--pdf", str(pdf), "--json")
    assert 0 == made.returncode, made.stderr
    data = json.loads(made.stdout)
    assert {("2026-spring", "v-b", 45), ("2026-autumn", "v-a", 90)} == {
        (t["term"], t["venue"], t["minutes"]) for t in data["terms"]}
    assert (135, 2) == (data["total_minutes"], data["voided_left_out"])  # the check-in and its check-out
    assert {"太极拳": 90, "自主学习": 45} == {c["course"]: c["minutes"] for c in data["courses"]}

    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "学习证明" in text.replace(" ", "") and "太极拳" in text and LEARNER in text
    assert "姓名" not in text  # no name unless given

    checked = learncard(*verify_args(county, tmp_path), data["qr_text"])
    assert 0 == checked.returncode, checked.stderr
    verified = json.loads(checked.stdout)
    assert (True, LEARNER, 135, "county-statements/1") == (
        verified["verified"], verified["learner"], verified["total_minutes"], verified["signer"])

    # the printed page: rasterised, the QR read back from the picture
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    from_picture = learncard(*verify_args(county, tmp_path), "--image", str(tmp_path / "page.png"))
    assert 0 == from_picture.returncode, from_picture.stderr
    assert 135 == json.loads(from_picture.stdout)["total_minutes"]


def test_a_name_only_when_given(gateway: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "named.pdf"
    made = learncard("gateway", "--config", str(gateway), "learner", "statement", LEARNER, "--pdf", str(pdf),
                     "--name", "王小明")
    assert 0 == made.returncode, made.stderr
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "王小明" in text


class TestForgedSummaries:
    def test_altered_summary_is_refused(self, gateway: Path, county: TestCounty, tmp_path: Path) -> None:
        """More hours written into a genuine summary: the signature no longer holds."""
        made = learncard("gateway", "--config", str(gateway), "learner", "statement", LEARNER, "--json")
        genuine = summary.verify(json.loads(made.stdout)["qr_text"], county.county_id,
                                 lambda _kid: county.kiosk_key("county-statements").public_key())
        inflated = summary.Summary(genuine.county, genuine.kid, genuine.learner, genuine.issued_at, genuine.rows,
                                   genuine.total_minutes * 10, genuine.voided_left_out)
        forged = summary.to_qr_text(summary.sign(inflated, keys.private_key_from_seed(b"\x01" * 32)))
        done = learncard(*verify_args(county, tmp_path), forged)
        assert 1 == done.returncode and "NOT verified" in done.stderr

    @pytest.mark.parametrize("signer", ["k-a-1", "county-corrections"])
    def test_signed_by_a_key_without_the_statements_purpose(self, county: TestCounty, tmp_path: Path,
                                                             gateway: Path, signer: str) -> None:
        """A stolen kiosk key, or the corrections key: genuine registry keys, but not for statements."""
        fake = summary.Summary(county.county_id, f"{signer}/1", LEARNER, 1, (("2026-autumn", "v-a", 6000),), 6000, 0)
        text = summary.to_qr_text(summary.sign(fake, county.kiosk_key(signer)))
        done = learncard(*verify_args(county, tmp_path), text)
        assert 1 == done.returncode and "statements" in done.stderr
