"""The programme and the credit rules travel county → gateway → broker (retained) → kiosk,
and the kiosk keeps them across a restart with no broker at all."""

from __future__ import annotations

from pathlib import Path

from records import programme
from records.rules import RuleBook
from tests.support.county import TestCounty
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.venue import GatewayProcess, kiosk_online, wait_until

ROW = {"venue": "v-test", "course_id": "phone-basics", "title_zh": "智能手机入门", "title_en": "", "category": "science-tech",
       "form": "workshop", "audience": "elderly", "staff_id": "", "capacity": "", "registration": "none",
       "credit_rule": "short", "date": "2026-11-23", "weekday": "", "term_start": "", "term_end": "",
       "start": "09:00", "end": "10:30"}
RULES = RuleBook.from_body({"default": "short", "rules": {"short": {"min_share_percent": 80,
                                                                    "rounding_minutes": 5}}})


def test_programme_and_rules_reach_the_kiosk_and_stay(tmp_path: Path, county: TestCounty,
                                                      mosquitto: Mosquitto) -> None:
    gateway = GatewayProcess(county, tmp_path / "gateway", mosquitto)
    gateway.put_document(county.programme(programme.rows_to_body([ROW])))
    gateway.put_document(county.credit_rules(RULES.body()))
    gateway.start()
    try:
        kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
        with kiosk.running() as app:
            wait_until("the programme", lambda: app.agent.docs.version("programme") == 1)
            wait_until("the credit rules", lambda: app.agent.docs.version("credit-rules") == 1)
            late = TestClient(mosquitto.port)  # subscribes after the publish: only retained copies reach it
            try:
                assert late.wait_connected()
                late.subscribe("lc/v1/county/+")
                got = {}
                wait_until("the retained documents", lambda: _drain(late, got) >= 5)
            finally:
                late.close()
            assert got["lc/v1/county/programme"].retain and got["lc/v1/county/credit-rules"].retain
            body = programme.rows_to_body([ROW, {**ROW, "date": "2026-11-24"}])
            gateway.put_document(county.programme(body, version=2))
            gateway.reload()
            wait_until("programme version 2", lambda: app.agent.docs.version("programme") == 2)
    finally:
        gateway.kill()
    kiosk.set("uplink", "host", "")  # offline: only what the kiosk kept
    with kiosk.running() as app:
        assert 2 == app.agent.docs.version("programme")
        assert 2 == len(app.agent.docs.programme()["courses"][0]["times"])
        assert RULES == app.agent.docs.rule_book()


def _drain(client: TestClient, into: dict) -> int:
    while not client.messages.empty():
        message = client.messages.get()
        into[message.topic] = message
    return len(into)
