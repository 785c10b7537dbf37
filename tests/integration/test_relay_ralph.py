"""The relay against a second LRS implementation: Ralph (PyPI `ralph-malph`), run unpatched
as its own process with its filesystem backend. Ralph answers 204 to a batch it holds
already; the relay must take any 2xx as delivered, keep progress per endpoint, and send the
history to a second endpoint on request — no dead letters, no duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.lrs import LrsClient
from gateway.relay import Relay, adopt_legacy, progress_rows
from gateway.store import Store
from gateway.xapi import statement_id
from learncard.config import to_toml
from learncard.main import cli
from tests.integration.test_relay import HOME, fill
from tests.support import ralph as ralph_lrs
from tests.support.county import TestCounty

if not ralph_lrs.installed():  # scripts/setup.sh installs it: a missing LRS fails loudly, never skips quietly
    pytest.fail("Ralph is not installed: run scripts/setup.sh (it makes tests/lrs/ralph-venv)", pytrace=False)


@pytest.fixture
def ralphs() -> Iterator[tuple[ralph_lrs.Ralph, ralph_lrs.Ralph]]:
    first, second = ralph_lrs.Ralph().start(), ralph_lrs.Ralph().start()
    yield first, second
    first.stop()
    second.stop()


def client_of(server: ralph_lrs.Ralph) -> LrsClient:
    return LrsClient(server.endpoint, ralph_lrs.USER, ralph_lrs.PASSWORD)


def held(server: ralph_lrs.Ralph) -> list[str]:
    return sorted(s["id"] for s in client_of(server).get_all())


def drain(relay: Relay) -> None:
    while relay.step():
        pass


def test_first_run_rerun_and_resend_to_a_second_ralph(ralphs: tuple[ralph_lrs.Ralph, ralph_lrs.Ralph],
                                                      county: TestCounty, tmp_path: Path) -> None:
    first, second = ralphs
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    recs = fill(store, county, tmp_path)
    expected = sorted(statement_id(r.id) for r in recs[2:])  # check-out, rating, manual, enrolment

    run = Relay(store, client_of(first), HOME)
    drain(run)
    assert (4, 0) == (run.stats.delivered, run.stats.dead)
    assert expected == held(first)

    run.restart()  # as after a lost cursor: the same batch again; Ralph answers 204
    rerun = Relay(store, client_of(first), HOME)
    drain(rerun)
    assert " 204" in first.log()
    assert (4, 0) == (rerun.stats.delivered, rerun.stats.dead)
    assert [] == store.query("SELECT * FROM deadletters")
    assert expected == held(first)  # no duplicates

    config = tmp_path / "gw.toml"
    config.write_text(to_toml({"gateway": {"county": "c", "issuer_public_key": "x"},
                               "store": {"url": f"sqlite:///{tmp_path / 'gateway.sqlite3'}"},
                               "lrs": {"home_page": HOME, "username": ralph_lrs.USER,
                                       "password": ralph_lrs.PASSWORD}}))
    resend = ["gateway", "--config", str(config), "relay", "resend", "--endpoint", second.endpoint,
              "--since", "2026-11-01"]
    sent = CliRunner().invoke(cli, resend)
    assert 0 == sent.exit_code, sent.output
    assert "4 statement(s) delivered, 0 dead letter(s)" in sent.output
    assert expected == held(second)
    again = CliRunner().invoke(cli, [*resend[:-1], "2026-11-02"])  # another resend: all held, 204
    assert 0 == again.exit_code, again.output
    assert "4 statement(s) delivered, 0 dead letter(s)" in again.output
    assert expected == held(second)
    assert [] == store.query("SELECT * FROM deadletters")
    cursors = {row["endpoint"]: row["cursor"] for row in progress_rows(store)}
    assert 6 == cursors[first.endpoint]  # the running relay's progress is its own
    store.close()


def test_resend_since_skips_older_records(ralphs: tuple[ralph_lrs.Ralph, ralph_lrs.Ralph], county: TestCounty,
                                          tmp_path: Path) -> None:
    first, _ = ralphs
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    fill(store, county, tmp_path)  # facts on 2026-11-23
    from datetime import UTC, datetime

    relay = Relay(store, client_of(first), HOME, name="later", since=datetime(2026, 11, 24, tzinfo=UTC))
    drain(relay)
    assert (0, 0) == (relay.stats.delivered, relay.stats.dead)
    assert [] == held(first)
    store.close()


class TestProgressPerEndpoint:
    def test_the_old_single_cursor_is_adopted_by_the_configured_endpoint(self, tmp_path: Path) -> None:
        store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
        with store.tx() as tx:
            tx.execute("INSERT INTO relay_state (name, cursor) VALUES ('lrs', 5)")
            tx.execute("INSERT INTO deadletters VALUES ('lrs', 'r1', '{}', 409, 'conflict', 0, 0)")
        assert adopt_legacy(store, "http://lrs/xAPI")
        assert [("http://lrs/xAPI", 5)] == store.query("SELECT name, cursor FROM relay_state")
        assert [("http://lrs/xAPI", "r1")] == store.query("SELECT endpoint, record_id FROM deadletters")
        assert not adopt_legacy(store, "http://lrs/xAPI")
        store.close()

    def test_a_new_endpoint_starts_from_the_first_record(self, tmp_path: Path) -> None:
        store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
        with store.tx() as tx:
            tx.execute("INSERT INTO relay_state (name, cursor) VALUES ('http://old/xAPI', 7)")
        relay = Relay(store, LrsClient("http://new/xAPI", "a", "b"), HOME)
        assert 0 == relay.cursor()
        store.close()
