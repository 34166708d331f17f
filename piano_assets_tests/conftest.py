"""Shared fixtures: real PostgreSQL and Redis servers, started once per test session.

A test that asks for one skips, saying why, when the server cannot be had on this machine; with
`PIANO_ASSETS_REQUIRE_SERVICES=1` (CI: `./dev test` installs the packages as root and sets it)
it fails instead, so CI never passes by skipping them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from piano_assets_tests.services import (
    PostgresServer,
    RedisServer,
    ServiceUnavailableError,
    postgres_server,
    redis_server,
)


def _unavailable(what: str, err: ServiceUnavailableError) -> None:
    message = f"{what} unavailable: {err}"
    if os.environ.get("PIANO_ASSETS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (PIANO_ASSETS_REQUIRE_SERVICES=1: it must run here)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    try:
        context = postgres_server()
        server = context.__enter__()
    except ServiceUnavailableError as err:
        _unavailable("PostgreSQL", err)
        raise  # unreachable: skip/fail raise
    try:
        yield server
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    try:
        context = redis_server()
        server = context.__enter__()
    except ServiceUnavailableError as err:
        _unavailable("Redis", err)
        raise
    try:
        yield server
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
def postgres_database(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh database on the shared server, named after the test."""
    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40].strip("_")
    return postgres.create_database(f"t_{name}")
