"""Shared fixtures: real PostgreSQL and Redis servers, started once per test session.

A test that asks for one skips, saying why, when the server cannot be had on this machine; with
`PIANO_ASSETS_REQUIRE_SERVICES=1` (CI: `./dev test` installs the packages as root and sets it)
it fails instead, so CI never passes by skipping them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from piano_assets.engine import Embedder, EmbedderConfig, build_embedder
from piano_assets.reorganize import ops
from piano_assets.sample.maestro_sample import build_maestro_sample
from piano_assets.sample.repo import ensure_sample_repo
from piano_assets_tests.reorganize_helpers import final_state, make_repo
from piano_assets_tests.services import (
    PostgresServer,
    RedisServer,
    ServiceUnavailableError,
    postgres_server,
    redis_server,
)
from piano_assets_tests.sources_fixtures import LoopbackServer


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


# -- shared set-ups (each built once per session, used by several test modules) ---------------


@pytest.fixture(scope="session")
def tiny_embedder() -> Embedder:
    """The real MuQ architecture, tiny, random weights (labelled so), batches of 4, on the CPU."""
    return build_embedder(EmbedderConfig(mode="random", random_size="tiny", batch_size=4))


@pytest.fixture(scope="session")
def maestro_sample_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded MAESTRO sample (real rows, synthesized audio); read-only for its users."""
    cache = tmp_path_factory.mktemp("maestro_sample") / "maestro_cache"
    build_maestro_sample(cache, None)
    return cache


@pytest.fixture(scope="session")
def generated_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole sample model repo and its world, generated once (~15 s); tests that change it
    work on a copy (`copy_sample`) or leave it complete."""
    sample = tmp_path_factory.mktemp("generated") / "sample"
    ensure_sample_repo(sample)
    return sample


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[LoopbackServer]:
    """A web server on 127.0.0.1 serving `tmp_path/www` (no internet in tests)."""
    with LoopbackServer(tmp_path / "www") as server:
        yield server


@pytest.fixture(scope="session")
def reorganized_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The final state of an uninterrupted reorganization of the sample before cleanup."""
    layout = make_repo(tmp_path_factory.mktemp("reference"))
    ops.run_all(layout)
    return final_state(layout.root)
