"""A throw-away PostgreSQL database for one test, on the local server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ADMIN_URL = os.environ.get("LEARNCARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def database() -> Iterator[str]:
    """Create a database, yield its URL, drop it. Fails loudly if PostgreSQL is not there."""
    import psycopg

    name = f"lc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def open_unpartitioned(url: str) -> Any:
    """A store as LearnCard made and wrote it before migration ``0010-records-by-month``: one
    ``records`` table with its own unique constraints, ids looked up there (the old ingest).
    Closing it and opening the URL with ``Store.open`` converts it."""
    from unittest import mock

    from gateway import store as store_module

    before = [step for step in store_module.SCHEMA if step[0] < "0010"]
    with mock.patch.object(store_module, "SCHEMA", before):
        store = store_module.Store.open(url)
    store.d.keys = "records"
    return store
