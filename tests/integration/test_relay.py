"""The relay against a real LRS (Learning Locker's statement service, in memory)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.lrs import LrsClient, LrsUnavailable
from gateway.relay import Breaker, Relay, link_learner
from gateway.store import Store
from gateway.xapi import statement_id
from learncard.config import to_toml
from learncard.main import cli
from records.ids import learner_code
from tests.support.county import TestCounty
from tests.support.flaky_http import FlakyProxy
from tests.support.gateway import NOW, KioskChain, payload
from tests.support.lrs import Lrs

HOME = "https://learn.county-test.example"


@pytest.fixture(scope="module")
def lrs() -> Iterator[Lrs]:
    server = Lrs().start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path, county: TestCounty) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")


def fill(store: Store, county: TestCounty, tmp_path: Path, kiosk: str | None = None,
         temp: str | None = None) -> list:
    """A session's worth of records of every relayed type, through the real ingest."""
    kiosk = kiosk or f"k-{uuid.uuid4().hex[:8]}"
    (tmp_path / "registry.jws").write_text(county.registry({kiosk: "v-test"}).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    k = KioskChain(county, kiosk=kiosk)
    session = str(uuid.uuid4())
    rule = {"min_share_percent": 50, "rounding_minutes": 15, "cap_at_session": True,
            "daily_self_study_cap_minutes": 240}
    learner = learner_code(123_456_789_012)
    recs = [
        k.next("session.opened", {"session_id": session, "course": "太极拳", "category": "culture",
                                  "staff_id": "s-0001", "planned_start": "2026-11-23T09:00:00.000+08:00",
                                  "planned_end": "2026-11-23T10:30:00.000+08:00", "credit_rule": rule}),
        k.next("attendance.checkin", {"learner": learner, "card": "ab" * 8, "session_id": session, "how": "nfc",
                                      "groups": ["elder"]}),
    ]
    recs += [
        k.next("attendance.checkout", {"learner": learner, "card": "ab" * 8, "session_id": session,
                                       "checkin_id": recs[1].id, "checkin_time": "2026-11-23T09:02:00.000+08:00",
                                       "seconds_present": 5400, "minutes_credited": 90, "how": "nfc"}),
        k.next("rating", {"learner": learner, "session_id": session, "score": 4}),
        k.next("attendance.manual", {"learner": temp or learner_code(222_333_444_555), "temporary": bool(temp),
                                     "session_id": None, "staff_id": "s-0001", "reason": "忘带卡",
                                     "minutes_credited": 45}),
        k.next("enrollment", {"learner": temp or "T000000000042", "temporary": True, "session_id": session,
                              "staff_id": "s-0001"}),
    ]
    out = Ingest(store, files, lambda: NOW).handle(kiosk, payload(recs))
    assert out.stored == len(recs)
    return recs


def drain(relay: Relay) -> None:
    while relay.step():
        pass


def by_id(client: LrsClient) -> dict[str, dict]:
    return {s["id"]: s for s in client.get_all()}


class TestDelivery:
    def test_every_statement_accepted_and_read_back(self, lrs: Lrs, store: Store, county: TestCounty,
                                                    tmp_path: Path) -> None:
        recs = fill(store, county, tmp_path)
        client = LrsClient(lrs.endpoint, "lc", "secret")
        relay = Relay(store, client, HOME)
        drain(relay)
        assert (4, 0) == (relay.stats.delivered, relay.stats.dead)
        stored = by_id(client)
        checkout, rating, manual, enrol = recs[2], recs[3], recs[4], recs[5]
        s = stored[statement_id(checkout.id)]
        assert "http://adlnet.gov/expapi/verbs/attended" == s["verb"]["id"]
        assert {"homePage": HOME, "name": checkout.data["learner"]} == s["actor"]["account"]
        assert "mbox" not in s["actor"] and "name" not in s["actor"]
        assert "PT1H30M" == s["result"]["duration"]
        assert f"{HOME}/sessions/{checkout.data['session_id']}" == s["object"]["id"]
        assert "太极拳" == s["object"]["definition"]["name"]["zh-CN"]
        ext = s["context"]["extensions"]
        assert (90, checkout.id) == (ext["https://w3id.org/learncard/xapi/ext/minutes-credited"],
                                     ext["https://w3id.org/learncard/xapi/ext/record-id"])
        assert {"raw": 4, "min": 1, "max": 5} == stored[statement_id(rating.id)]["result"]["score"]
        assert "PT45M" == stored[statement_id(manual.id)]["result"]["duration"]
        assert f"{HOME}/venues/v-test/self-study" == stored[statement_id(manual.id)]["object"]["id"]
        assert "http://adlnet.gov/expapi/verbs/registered" == stored[statement_id(enrol.id)]["verb"]["id"]

    def test_relayed_twice_makes_no_duplicates(self, lrs: Lrs, store: Store, county: TestCounty,
                                               tmp_path: Path) -> None:
        recs = fill(store, county, tmp_path)
        client = LrsClient(lrs.endpoint, "lc", "secret")
        drain(Relay(store, client, HOME))
        before = len(client.get_all())
        with store.tx() as tx:
            tx.execute("UPDATE relay_state SET cursor = 0")
        again = Relay(store, client, HOME)
        drain(again)
        assert (4, 0) == (again.stats.delivered, again.stats.dead)
        assert before == len(client.get_all())
        assert statement_id(recs[2].id) in by_id(client)

    def test_progress_is_durable_across_restarts(self, lrs: Lrs, store: Store, county: TestCounty,
                                                 tmp_path: Path) -> None:
        fill(store, county, tmp_path)
        client = LrsClient(lrs.endpoint, "lc", "secret")
        first = Relay(store, client, HOME, batch_size=3)
        first.step()
        cursor = first.cursor()
        assert 0 < cursor < 6
        second = Relay(store, client, HOME, batch_size=3)  # a restart
        drain(second)
        assert 6 == second.cursor()
        assert first.stats.delivered + second.stats.delivered == 4


class TestFaults:
    def test_lrs_down_for_a_while(self, lrs: Lrs, store: Store, county: TestCounty, tmp_path: Path) -> None:
        recs = fill(store, county, tmp_path)
        proxy = FlakyProxy(f"http://127.0.0.1:{lrs.port}")
        client = LrsClient(proxy.endpoint + "/xAPI", "lc", "secret", timeout=2)
        relay = Relay(store, client, HOME, breaker=Breaker(after=2, cooldown=0.5), backoff_max=0.5)
        proxy.mode = "500"
        thread = threading.Thread(target=relay.run, kwargs={"idle": 0.1})
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while relay.stats.failures < 3:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert "open" == relay.breaker.state
            assert 0 == relay.cursor()  # nothing skipped while the LRS fails
            proxy.mode = "slow"
            proxy.delay = 3  # longer than the client's timeout: still a failure
            time.sleep(1)
            assert 0 == relay.cursor()
            proxy.mode = "pass"
            deadline = time.monotonic() + 30
            while relay.cursor() < 6:
                assert time.monotonic() < deadline, "the relay did not recover"
                time.sleep(0.1)
        finally:
            relay.stop.set()
            thread.join()
            proxy.close()
        assert 0 == relay.stats.dead
        assert statement_id(recs[3].id) in by_id(LrsClient(lrs.endpoint, "lc", "x"))

    def test_unreachable_lrs_raises_unavailable(self) -> None:
        with pytest.raises(LrsUnavailable):
            LrsClient("http://127.0.0.1:9/xAPI", "a", "b", timeout=1).post([])

    def test_conflicting_statement_goes_to_dead_letters(self, lrs: Lrs, store: Store, county: TestCounty,
                                                        tmp_path: Path) -> None:
        recs = fill(store, county, tmp_path)
        client = LrsClient(lrs.endpoint, "lc", "secret")
        rating = recs[3]
        squatter = {"id": statement_id(rating.id), "actor": {"objectType": "Agent", "account": {
            "homePage": HOME, "name": "9999999999994"}}, "verb": {"id": "http://id.tincanapi.com/verb/rated"},
            "object": {"objectType": "Activity", "id": f"{HOME}/elsewhere"}}
        assert 200 == client.post([squatter]).status
        relay = Relay(store, client, HOME)
        drain(relay)
        assert (3, 1) == (relay.stats.delivered, relay.stats.dead)
        rows = store.query("SELECT record_id, status FROM deadletters")
        assert [(rating.id, 409)] == rows
        config = tmp_path / "gw.toml"
        config.write_text(to_toml({"gateway": {"county": "c", "issuer_public_key": "x"},
                                   "store": {"url": f"sqlite:///{tmp_path / 'gateway.sqlite3'}"}}))
        listed = CliRunner().invoke(cli, ["gateway", "--config", str(config), "deadletters", "list"])
        assert rating.id in listed.output and "409" in listed.output
        retried = CliRunner().invoke(cli, ["gateway", "--config", str(config), "deadletters", "retry", rating.id])
        assert "1 dead letter" in retried.output

    def test_bad_statement_is_a_dead_letter_with_the_answer(self, lrs: Lrs, store: Store, county: TestCounty,
                                                            tmp_path: Path) -> None:
        fill(store, county, tmp_path)
        relay = Relay(store, LrsClient(lrs.endpoint, "lc", "secret"), "not a home page iri")
        drain(relay)
        rows = store.query("SELECT status, answer FROM deadletters")
        assert rows and all(400 == status for status, _ in rows)
        assert all(answer for _, answer in rows)


class TestHttpBoundary:
    @pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
    def test_version_header_and_basic_auth(self, version: str) -> None:
        proxy = FlakyProxy("http://127.0.0.1:9")  # records what it receives, answers 500
        proxy.mode = "500"
        try:
            with pytest.raises(LrsUnavailable):
                LrsClient(proxy.endpoint + "/xAPI", "county", "pw", version).post([{"id": "x"}])
            headers = {k.lower(): v for k, v in proxy.headers[-1].items()}
            assert version == headers["x-experience-api-version"]
            assert headers["authorization"].startswith("Basic ")
        finally:
            proxy.close()


def test_linked_learner_gets_the_real_code(lrs: Lrs, store: Store, county: TestCounty, tmp_path: Path) -> None:
    recs = fill(store, county, tmp_path)
    code = learner_code(555_666_777_888)
    link_learner(store, "T000000000042", code)
    client = LrsClient(lrs.endpoint, "lc", "secret")
    drain(Relay(store, client, HOME))
    enrol = by_id(client)[statement_id(recs[5].id)]
    assert code == enrol["actor"]["account"]["name"]


def test_gateway_relays_taps_and_shows_dead_letters_in_metrics(tmp_path: Path, county: TestCounty, lrs: Lrs) -> None:
    """Kiosk → broker → gateway process → LRS; a conflicting statement id shows in /metrics."""
    import urllib.request

    from tests.support.mosquitto import Mosquitto
    from tests.support.ports import free_port
    from tests.support.venue import GatewayProcess, kiosk_online, wait_until

    broker = Mosquitto(tmp_path / "broker").start()
    metrics_port = free_port()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, lrs_endpoint=lrs.endpoint,
                             metrics_port=metrics_port).start()
    client = LrsClient(lrs.endpoint, "lc", "secret")
    kiosk = kiosk_online(county, tmp_path / "kiosk", broker)
    try:
        with kiosk.running() as app:
            c = kiosk.client()
            cards = [county.qr(county.credential()) for _ in range(3)]
            for text in cards:
                c.call("tap", text=text)
            outs = [c.call("tap", text=text) for text in cards]  # check-outs: statements
            # someone else already used the statement id of the first rating's record
            rating = c.call("rate", rating_for=outs[0]["rating_for"], score=5)
            c.close()
            squatter = {"id": statement_id(rating["record_id"]), "actor": {"objectType": "Agent", "account": {
                "homePage": county.home_page, "name": "9999999999994"}},
                "verb": {"id": "http://id.tincanapi.com/verb/rated"},
                "object": {"objectType": "Activity", "id": f"{county.home_page}/elsewhere"}}
            assert 200 == client.post([squatter]).status
            wait_until("the outbox to empty", lambda: app.journal.stats().pending == 0)
        ids = {statement_id(o["record_id"]) for o in outs}
        wait_until("the statements at the LRS", lambda: ids <= set(by_id(client)), 60)

        def metric(name: str) -> float:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as answer:  # noqa: S310
                for line in answer.read().decode().splitlines():
                    if line.startswith(name + " "):
                        return float(line.split()[1])
            return -1.0

        wait_until("the dead letter in /metrics", lambda: metric("learncard_relay_deadletters") == 1.0, 30)
        assert 7 == gateway.count()  # 3 check-ins, 3 check-outs, 1 rating
    finally:
        gateway.kill()
        broker.kill()


def statements_of(client: LrsClient, name: str) -> list[dict]:
    import urllib.parse

    agent = json.dumps({"account": {"homePage": HOME, "name": name}})
    answer = client._send("GET", f"{client.statements_url}?agent={urllib.parse.quote(agent)}")
    assert 200 == answer.status
    # xAPI lists the statements that void the agent's statements too (StatementRef): not the agent's own
    return [s for s in answer.body["statements"] if s["verb"]["id"] != "http://adlnet.gov/expapi/verbs/voided"]


def test_link_after_relaying_voids_and_resends_under_the_code(lrs: Lrs, store: Store, county: TestCounty,
                                                             tmp_path: Path) -> None:
    """Statements already at the LRS under a walk-in's temporary id end under the learner code:
    the old ones voided, the same facts re-sent once; none stays active under the temporary id."""
    from gateway.xapi import linked_statement_id

    recs = fill(store, county, tmp_path, temp="T000000000777")
    client = LrsClient(lrs.endpoint, "lc", "secret")
    drain(Relay(store, client, HOME))
    assert 2 == len(statements_of(client, "T000000000777"))  # the registration and the manual attendance
    code = learner_code(555_666_777_999)
    link_learner(store, "T000000000777", code)
    relay = Relay(store, client, HOME)
    drain(relay)
    relay.step()  # a second pass re-sends nothing: the link is marked done
    assert [] == statements_of(client, "T000000000777")
    under_code = {s["id"]: s for s in statements_of(client, code)}
    assert {linked_statement_id(recs[4].id), linked_statement_id(recs[5].id)} == set(under_code)
    assert "PT45M" == under_code[linked_statement_id(recs[4].id)]["result"]["duration"]
    with pytest.raises(ValueError, match="final"):
        link_learner(store, "T000000000777", learner_code(111_111_111_111))
