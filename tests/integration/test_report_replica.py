"""Reports and exports read a read replica when `store.report_url` names one. A hot
standby refuses every write; here a database set read-only stands in for it (no
streaming replica runs on this machine), so a command that tried to migrate it would fail."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from gateway.county_files import CountyFiles
from gateway.errors import StoreError
from gateway.ingest import Ingest
from gateway.store import Store
from learncard.config import to_toml
from learncard.main import cli
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload
from tests.support.postgres import database


def test_export_reads_the_replica_and_never_writes_to_it(tmp_path: Path, county: TestCounty) -> None:
    (tmp_path / "registry.jws").write_text(county.registry({"k-test-1": "v-test"}).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    recs = KioskChain(county).many(3)
    with database() as primary, database() as replica:
        Store.open(primary).close()
        store = Store.open(replica)
        Ingest(store, files, lambda: NOW).handle("k-test-1", payload(recs))
        store.close()
        with psycopg.connect(replica, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{replica.rsplit("/", 1)[1]}" SET default_transaction_read_only = on')
        with pytest.raises((StoreError, psycopg.Error)):
            Store.open(replica)  # migrations write: a replica refuses them

        def export(store_section: dict[str, str]) -> list[str]:
            config = tmp_path / "gw.toml"
            config.write_text(to_toml({"gateway": {"county": county.county_id,
                                                   "issuer_public_key": county.issuer_public,
                                                   "registry": str(tmp_path / "registry.jws")},
                                       "store": store_section}))
            result = CliRunner().invoke(cli, ["gateway", "--config", str(config), "export"])
            assert 0 == result.exit_code, result.output
            return [json.loads(line)["record"] for line in result.output.splitlines() if line.startswith("{")]

        assert [] == export({"url": primary})
        assert [r.token for r in recs] == export({"url": primary, "report_url": replica})
