"""Real PostgreSQL and Redis servers for tests: temporary folders, free loopback ports, no leaks.

* `postgres_server()` runs Debian's PostgreSQL (`initdb`, then `postgres` itself, from
  `/usr/lib/postgresql/<version>/bin`, or `PIANO_ASSETS_TEST_PG_BIN`) in a fresh folder under
  /tmp, listening on 127.0.0.1 only, password authentication on TCP. `initdb` refuses to run as
  root, so as root both run as the unprivileged user `nobody` (through `setpriv`).
  Durability is switched off (fsync, synchronous commit): the data is thrown away afterwards.
* `redis_server()` runs `redis-server --port N --bind 127.0.0.1 --save ''` (no persistence).

Each raises `ServiceUnavailableError` (with the reason and the fix) when the server cannot be had;
the pytest fixtures in `conftest.py` turn that into a skip, or a failure when
`PIANO_ASSETS_REQUIRE_SERVICES=1` (set by `./dev test` after it installed the packages).
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

PG_USER = "postgres"
UNPRIVILEGED_USER = "nobody"
INSTALL_HINT = "as root: apt-get install -y postgresql redis-server (./dev test does it)"


class ServiceUnavailableError(RuntimeError):
    """A test server could not be started here; the message says why and how to fix it."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceUnavailableError(
                f"server exited with {process.returncode} while starting:\n{_tail(log)}"
            )
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ServiceUnavailableError(f"server did not listen on 127.0.0.1:{port} in {timeout}s")


def _tail(path: Path, characters: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-characters:]
    except OSError:
        return ""


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals, timeout: float = 20.0) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# -- PostgreSQL ---------------------------------------------------------------------------------


def find_postgres_bin() -> Path:
    configured = os.environ.get("PIANO_ASSETS_TEST_PG_BIN")
    candidates = [Path(configured)] if configured else []

    def version(path: Path) -> int:
        match = re.fullmatch(r"\d+", path.parent.name)
        return int(match.group()) if match else 0

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    raise ServiceUnavailableError(
        f"no PostgreSQL server binaries (initdb, postgres); {INSTALL_HINT}"
    )


def _run_as_prefix() -> list[str]:
    """Run server commands unprivileged: initdb and postgres refuse to run as root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise ServiceUnavailableError("running as root without setpriv: cannot start PostgreSQL")
    try:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError as err:
        raise ServiceUnavailableError(f"running as root and no user {UNPRIVILEGED_USER!r}") from err
    return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]


@dataclass
class PostgresServer:
    """A running PostgreSQL server on 127.0.0.1:`port` (superuser `postgres`, `password`)."""

    port: int
    password: str
    base_dir: Path
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    user: str = PG_USER
    databases: list[str] = field(default_factory=list)

    def url(self, database: str = "postgres") -> str:
        return (
            f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/{database}"
        )

    def connect(self, database: str = "postgres") -> object:
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
        )

    def create_database(self, name: str) -> str:
        """A fresh, empty database (dropped first if it exists)."""
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
            raise ValueError(f"database name {name!r}: lowercase letters, digits, _")
        connection = self.connect()
        connection.autocommit = True  # type: ignore[attr-defined]
        try:
            with connection.cursor() as cursor:  # type: ignore[attr-defined]
                cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                cursor.execute(f"CREATE DATABASE {name}")
        finally:
            connection.close()  # type: ignore[attr-defined]
        self.databases.append(name)
        return name

    def query(
        self, database: str, sql: str, params: tuple[object, ...] = ()
    ) -> list[tuple[object, ...]]:
        connection = self.connect(database)
        try:
            with connection.cursor() as cursor:  # type: ignore[attr-defined]
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        finally:
            connection.close()  # type: ignore[attr-defined]

    def settings_env(self, database: str) -> dict[str, str]:
        """`PIANO_ASSETS_*` variables that select this server's `database` as Dagster storage."""
        return {
            "PIANO_ASSETS_STORAGE": "postgres",
            "PIANO_ASSETS_POSTGRES_HOST": self.host,
            "PIANO_ASSETS_POSTGRES_PORT": str(self.port),
            "PIANO_ASSETS_POSTGRES_USER": self.user,
            "PIANO_ASSETS_POSTGRES_DB": database,
            "PIANO_ASSETS_POSTGRES_PASSWORD": self.password,
        }


def _initdb(bin_dir: Path, data_dir: Path, password_file: Path, run_as: Sequence[str]) -> None:
    result = subprocess.run(
        [
            *run_as,
            str(bin_dir / "initdb"),
            "--pgdata",
            str(data_dir),
            "--username",
            PG_USER,
            "--pwfile",
            str(password_file),
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ],
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceUnavailableError(
            f"initdb failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )


@contextmanager
def postgres_server(startup_timeout: float = 60.0) -> Iterator[PostgresServer]:
    bin_dir = find_postgres_bin()
    run_as = _run_as_prefix()
    base = Path(tempfile.mkdtemp(prefix="piano_assets_pg_"))
    process: subprocess.Popen[bytes] | None = None
    try:
        password = secrets.token_urlsafe(16)
        password_file = base / "password"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        if run_as:
            nobody = pwd.getpwnam(UNPRIVILEGED_USER)
            for path in (base, password_file):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
        data_dir = base / "data"
        _initdb(bin_dir, data_dir, password_file, run_as)
        password_file.unlink()
        log = base / "postgres.log"
        for _attempt in range(3):  # a free port can be taken between choosing and binding
            port = free_port()
            with log.open("wb") as handle:
                process = subprocess.Popen(
                    [
                        *run_as,
                        str(bin_dir / "postgres"),
                        "-D",
                        str(data_dir),
                        "-p",
                        str(port),
                        "-k",
                        str(base),
                        "-c",
                        "listen_addresses=127.0.0.1",
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "max_connections=300",
                    ],
                    cwd=base,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            try:
                _wait_for_port(port, process, log, startup_timeout)
            except ServiceUnavailableError:
                if "could not bind" in _tail(log) or "already in use" in _tail(log):
                    _stop(process, signal.SIGINT)
                    continue
                raise
            server = PostgresServer(port=port, password=password, base_dir=base, process=process)
            _wait_until_accepting(server, startup_timeout)
            yield server
            return
        raise ServiceUnavailableError(f"PostgreSQL found no free port:\n{_tail(log)}")
    finally:
        if process is not None:
            _stop(process, signal.SIGINT)  # fast shutdown
        shutil.rmtree(base, ignore_errors=True)


def _wait_until_accepting(server: PostgresServer, timeout: float) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout
    while True:
        try:
            server.connect().close()  # type: ignore[attr-defined]
            return
        except psycopg2.OperationalError as err:  # "the database system is starting up"
            if time.monotonic() > deadline:
                raise ServiceUnavailableError(
                    f"PostgreSQL does not accept connections: {err}"
                ) from err
            time.sleep(0.2)


# -- Redis --------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"


@contextmanager
def redis_server(startup_timeout: float = 30.0) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceUnavailableError(f"no redis-server; {INSTALL_HINT}")
    base = Path(tempfile.mkdtemp(prefix="piano_assets_redis_"))
    process: subprocess.Popen[bytes] | None = None
    try:
        log = base / "redis.log"
        for _attempt in range(3):
            port = free_port()
            with log.open("wb") as handle:
                process = subprocess.Popen(
                    [
                        binary,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(base),
                    ],
                    cwd=base,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            try:
                _wait_for_port(port, process, log, startup_timeout)
            except ServiceUnavailableError:
                if "Address already in use" in _tail(log):
                    _stop(process, signal.SIGTERM)
                    continue
                raise
            yield RedisServer(port=port, process=process)
            return
        raise ServiceUnavailableError(f"redis-server found no free port:\n{_tail(log)}")
    finally:
        if process is not None:
            with suppress(ProcessLookupError):
                _stop(process, signal.SIGTERM)
        shutil.rmtree(base, ignore_errors=True)
