"""The reorganization lock of a model repo: one step (or trash operation) at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from typing import Protocol

from piano_assets.reorganize.errors import ReorganizeError
from piano_assets.reorganize.paths import ReorganizePaths

_LOCK_WAIT_LOG_S = 60.0


class StepLog(Protocol):
    """What a step logs to: a `logging.Logger` or Dagster's `context.log`."""

    def info(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None: ...


@contextlib.contextmanager
def reorganize_lock(
    paths: ReorganizePaths, timeout_s: float | None = None, log: StepLog | None = None
) -> Iterator[None]:
    """One reorganization step at a time per repo; waits for the holder (forever by default:
    a big copy can take hours). The kernel drops the lock when its holder dies, even by
    kill -9, so a crash never leaves the repo locked."""
    paths.state.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        started = last_log = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                holder = paths.lock.read_text(encoding="utf-8").strip() or "unknown"
                if timeout_s is not None and now - started > timeout_s:
                    raise ReorganizeError(
                        f"another reorganization step holds {paths.lock} (pid {holder}) "
                        f"for over {timeout_s:.0f} s; wait for it or stop it"
                    ) from None
                if log is not None and now - last_log >= _LOCK_WAIT_LOG_S:
                    last_log = now
                    log.info(f"waiting for {paths.lock}, held by pid {holder}")
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
