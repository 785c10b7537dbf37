"""PostgreSQL ingest as the store grows (issue 18): the same in-process ingest (verify,
check, commit) into an empty store and into one already holding ≥ 10 million records, in
interleaved rounds, with less page cache than the indexes.

Both stores live in a PostgreSQL cluster of the bench's own (``bench/pg_cluster.py``:
``initdb`` in a temporary directory, ``shared_buffers`` 32 MB, its own port), and the
cluster's relation files are dropped from the OS page cache before each round and every
0.5 s during it: what ingest needs of an index beyond PostgreSQL's 32 MB is read from disk.

The big store is filled with ``generate_series`` in SQL (rows of a real record's size and
shape, spread over 10,000 kiosks and the last 365 days) in the layout before migration
``0010-records-by-month``; opening it with ``Store.open`` then runs that migration (timed:
what converting a big store costs)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.pg_cluster import Cluster
from bench.result import Result, interleave
from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.store import Store
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload
from tests.support.postgres import open_unpartitioned

GROUP = "PostgreSQL as the store grows (issue 18)"
BATCH = 200
FILL_CHUNK = 1_000_000
DAY_MS = 86_400_000


def fill(url: str, rows: int) -> float:
    """Insert ``rows`` records-shaped rows into the unpartitioned table; returns the seconds."""
    import psycopg

    now_ms = int(time.time() * 1000)
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        # bulk load: the secondary indexes are dropped and built again afterwards (much faster
        # than maintaining them row by row; the table ends exactly as the migrations made it)
        indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'records' "
                               "AND indexname NOT LIKE '%%pkey'").fetchall()
        constraints = conn.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE "
                                   "conrelid = 'records'::regclass AND contype = 'u'").fetchall()
        for name, _ in constraints:
            conn.execute(f'ALTER TABLE records DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        for start in range(0, rows, FILL_CHUNK):
            conn.execute(
                "INSERT INTO records (kiosk, epoch, seq, id, type, venue, time, hash, prev, token, flags, "
                "committed_ms, txid) SELECT 'k-fill-' || (g %% 10000), 1, g / 10000 + 1, "
                "md5(g::text) || '-' || g, 'kiosk.checkpoint', 'v-fill-' || (g %% 2500), "
                "'2026-01-01T00:00:00.000+08:00', md5('h' || g), md5('p' || g), "
                "repeat(md5(g::text), 22), '', %s - (g %% 365) * %s - 60000, 0 "
                "FROM generate_series(%s::bigint, %s::bigint) g",
                (now_ms, DAY_MS, start, min(rows, start + FILL_CHUNK) - 1))
        for name, definition in constraints:
            conn.execute(f'ALTER TABLE records ADD CONSTRAINT "{name}" {definition}')
        unique_names = {name for name, _ in constraints}
        for name, definition in indexes:
            if name not in unique_names:
                conn.execute(definition)
        conn.execute("ANALYZE records")
    return time.perf_counter() - t0


def index_reads(url: str) -> int:
    """Index blocks PostgreSQL had to read (not found in shared_buffers), over the store."""
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT coalesce(sum(idx_blks_read), 0) FROM pg_statio_user_indexes").fetchone()[0])


def ingest_rate(cluster: Cluster, url: str, files: CountyFiles, chain: KioskChain, n: int) -> float:
    recs = chain.many(n)
    messages = [payload(recs[i:i + BATCH]) for i in range(0, n, BATCH)]
    store = Store.open(url)
    try:
        ingest = Ingest(store, files, lambda: NOW)
        cluster.evict()
        t0 = time.perf_counter()
        for m in messages:
            ingest.handle(chain.kiosk, m)
        return n / (time.perf_counter() - t0)
    finally:
        store.close()


def run(quick: bool) -> list[Result]:
    import psycopg

    rows = 300_000 if quick else 10_000_000
    per_round = 1_000 if quick else 5_000
    rounds = 3 if quick else 9
    county = TestCounty()
    cluster = Cluster().start()
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as admin:
            for name in ("lc_bench_empty", "lc_bench_full"):
                admin.execute(f'CREATE DATABASE "{name}"')
        urls = {k: cluster.url(f"lc_bench_{k}") for k in ("empty", "full")}
        Store.open(urls["empty"]).close()
        open_unpartitioned(urls["full"]).close()
        fill_s = fill(urls["full"], rows)
        t0 = time.perf_counter()
        Store.open(urls["full"]).close()  # migration 0010: the big store by month
        migrate_s = time.perf_counter() - t0
        kiosks = {f"k-s{i}": "v-test" for i in range(2 * rounds)}
        reads = {k: [index_reads(u)] for k, u in urls.items()}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "registry.jws"
            path.write_text(county.registry(kiosks).token)
            files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": path})
            files.load(first=True)
            stop = cluster.evicting()
            try:
                got = interleave(rounds,
                                 lambda i: ingest_rate(cluster, urls["full"], files,
                                                       KioskChain(county, kiosk=f"k-s{i}"), per_round),
                                 lambda i: ingest_rate(cluster, urls["empty"], files,
                                                       KioskChain(county, kiosk=f"k-s{rounds + i}"), per_round))
            finally:
                stop.set()
        for k, u in urls.items():
            reads[k].append(index_reads(u))
        with psycopg.connect(urls["full"]) as conn:
            total = conn.execute("SELECT count(*) FROM records").fetchone()[0]
            size = conn.execute("SELECT sum(pg_total_relation_size(c.oid))::bigint, "
                                "sum(pg_indexes_size(c.oid))::bigint "
                                "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                "WHERE i.inhparent = 'records'::regclass").fetchone()
            keys = conn.execute("SELECT pg_total_relation_size('record_keys'), "
                                "pg_indexes_size('record_keys')").fetchone()
            months = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'records'::regclass"
                                  ).fetchone()[0]
    finally:
        cluster.stop()
    made = per_round * rounds
    gib = 2**30
    return [Result.of_rounds(
        GROUP, f"ingest into a store of {total:,} records, cold cache ({per_round:,} per round, messages of "
        f"{BATCH})", got, "records/s", "the same ingest into an empty store",
        "≥ 0.9× the empty store (issue 18; at 100 million rows with less page cache than the indexes)",
        got.ratio >= 0.9,
        f"Records partitioned by month (migration 0010; {months} partitions incl. records_default), ids and "
        f"chain positions unique in record_keys. A cluster of the bench's own with shared_buffers 32 MB; its "
        f"relation files dropped from the OS page cache (posix_fadvise DONTNEED) before each round and every "
        f"0.5 s during it. Index blocks read from outside shared_buffers per record ingested: "
        f"{(reads['full'][1] - reads['full'][0]) / made:.2f} full, "
        f"{(reads['empty'][1] - reads['empty'][0]) / made:.2f} empty. Filled in {fill_s:.0f} s with generate_series "
        f"(unpartitioned, as before migration 0010); "
        f"migration 0010 converted it in {migrate_s:.0f} s. Partitions {size[0] / gib:.1f} GiB of which "
        f"indexes {size[1] / gib:.1f} GiB; record_keys {keys[0] / gib:.2f} GiB of which indexes "
        f"{keys[1] / gib:.2f} GiB ({(size[0] + keys[0]) / total:,.0f} bytes a row in all). 100 million rows "
        f"(~{(size[0] + keys[0]) / total * 1e8 / 1e9:.0f} GB, and twice that to convert) do not fit this "
        f"machine's disk: not measured.")]
