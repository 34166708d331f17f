"""Registering tens of thousands of partitions on SQLite (dagster issue #16260).

Dagster's SQLite storage checks every key of one `add_dynamic_partitions` call in a single
`IN (...)`. SQLite's upstream default allows 32,766 variables per statement, and builds with
that default (python.org, many distributions) fail with "too many SQL variables" past it.
Debian's build raises the limit to 250,000, so these tests set the upstream default on every
SQLite connection (a real SQLite limit, `sqlite3.Connection.setlimit`), as such a build ships.
`add_new_partitions` registers in chunks of at most 10,000 keys.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from piano_assets.lib.partitions import REGISTRATION_CHUNK as PARTITION_CHUNK_SIZE
from piano_assets.lib.partitions import add_new_partitions

UPSTREAM_SQLITE_MAX_VARIABLES = 32_766
MANY = 40_000  # past the upstream limit, under 100,000 partitions per asset (Dagster's advice)


@pytest.fixture
def upstream_sqlite_limit() -> Iterator[None]:
    def limit(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.setlimit(
                sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, UPSTREAM_SQLITE_MAX_VARIABLES
            )

    event.listen(sa.engine.Engine, "connect", limit)
    try:
        yield
    finally:
        event.remove(sa.engine.Engine, "connect", limit)


def test_one_call_with_more_keys_than_variables_fails_in_dagster(
    upstream_sqlite_limit: None,
) -> None:
    """The defect itself, so the test below proves the chunking is what avoids it."""
    keys = [f"recording-{index:06d}" for index in range(MANY)]
    with dg.instance_for_test() as instance, pytest.raises(Exception, match="too many SQL"):
        instance.add_dynamic_partitions("many_recordings", keys)


def test_more_keys_than_sqlite_variables_register_in_chunks(upstream_sqlite_limit: None) -> None:
    keys = [f"recording-{index:06d}" for index in range(MANY)]
    with dg.instance_for_test() as instance:  # SQLite storage in a temporary folder
        added = add_new_partitions(instance, "many_recordings", keys)
        again = add_new_partitions(instance, "many_recordings", [*keys[:5], "one-more"])
        registered = instance.get_dynamic_partitions("many_recordings")

    assert PARTITION_CHUNK_SIZE <= 10_000
    assert added == keys
    assert again == ["one-more"]
    assert len(registered) == MANY + 1
    assert set(registered) == {*keys, "one-more"}
