"""Hash-verified copies that never overwrite, and that a crash at any point cannot spoil.

A copy goes to a temporary name beside its destination (`.tmp-<name>.reorg-<pid>-<hex>`),
is fsynced and hashed, and only then is linked to its final name, an operation that fails
if anything is already there, so a different file is never overwritten. A crash leaves at
worst a temporary file, which the next attempt at the same destination removes.
Dagster-free.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import BinaryIO

from piano_assets.engine.files import atomic_write_text, fsync_dir
from piano_assets.reorganize.errors import CopyVerificationError, DestinationConflictError
from piano_assets.reorganize.plan import entry_kind, entry_sha256
from piano_assets.reorganize.records import EntryKind

_CHUNK = 1 << 20
_TEMP_MARK = ".reorg-"
# Tests only: "<n>:<signal file>" makes the n-th copy of this process stop halfway, write the
# signal file and sleep, so that a test can kill -9 the process in the middle of a copy.
TEST_STALL_ENV = "PIANO_ASSETS_TESTING_STALL_COPY"
_copies_started = 0


def is_transfer_temp(path: Path) -> bool:
    return path.name.startswith(".tmp-") and _TEMP_MARK in path.name


def remove_stale_temps(destination: Path) -> int:
    """Delete the temporary files an interrupted copy to `destination` left behind."""
    prefix = f".tmp-{destination.name}{_TEMP_MARK}"
    removed = 0
    if not destination.parent.is_dir():
        return 0
    for candidate in destination.parent.iterdir():
        if candidate.name.startswith(prefix) and not candidate.is_dir():
            candidate.unlink(missing_ok=True)
            removed += 1
    return removed


def sweep_stale_temps(tree: Path) -> int:
    """Delete every temporary file of ours under `tree` (an interrupted run's leftovers)."""
    if not tree.is_dir():
        return 0
    removed = 0
    for current, _folders, files in os.walk(tree):
        for name in files:
            path = Path(current) / name
            if is_transfer_temp(path):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _stall_if_asked(copy_number: int, written: int, size: int, writer: BinaryIO) -> None:
    setting = os.environ.get(TEST_STALL_ENV)
    if not setting:
        return
    wanted, _, signal = setting.partition(":")
    if int(wanted) != copy_number or written < size // 2:
        return
    writer.flush()  # what a large copy would have on disk by now
    atomic_write_text(Path(signal), f"{os.getpid()} {copy_number} {written}/{size}\n")
    time.sleep(3600)


def _chunk_size(size: int) -> int:
    # When a test wants to stop halfway, write in halves so that "halfway" exists.
    return max(1, size // 2) if os.environ.get(TEST_STALL_ENV) else _CHUNK


def _write_temp(source: Path, kind: EntryKind, directory: Path, name: str) -> Path:
    global _copies_started  # noqa: PLW0603 - a per-process counter for the test hook
    _copies_started += 1
    copy_number = _copies_started
    temp = directory / f".tmp-{name}{_TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    if kind == "symlink":
        os.symlink(os.readlink(source), temp)
        return temp
    size = source.stat().st_size
    chunk_size = _chunk_size(size)
    try:
        with open(source, "rb") as reader, open(temp, "xb") as writer:
            written = 0
            while chunk := reader.read(chunk_size):
                writer.write(chunk)
                written += len(chunk)
                _stall_if_asked(copy_number, written, size, writer)
            writer.flush()
            os.fsync(writer.fileno())
        shutil.copystat(source, temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def publish_no_overwrite(temp: Path, destination: Path) -> None:
    """Give `temp` the name `destination`, failing with FileExistsError if it is taken."""
    try:
        os.link(temp, destination, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as err:
        # Filesystems without hard links: rename after a check (we hold the step's lock).
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(destination):
            raise FileExistsError(errno.EEXIST, "exists", str(destination)) from err
        os.replace(temp, destination)
    else:
        temp.unlink()
    fsync_dir(destination.parent)


def copy_verified(
    source: Path,
    destination: Path,
    *,
    kind: EntryKind,
    sha256: str,
    also_accept: frozenset[str] = frozenset(),
) -> bool:
    """Make `destination` a hash-verified copy of `source`. Returns True if it copied, False
    if an equal file was already there (or one whose hash is in `also_accept`, such as the
    rewritten form of this file). A different file there raises `DestinationConflictError`."""
    remove_stale_temps(destination)
    accepted = {sha256, *also_accept}
    found = entry_kind(destination)
    if found is not None:
        found_sha = entry_sha256(destination, found) if found == kind else f"a {found}"
        if found_sha in accepted:
            return False
        raise DestinationConflictError(source, destination, sha256, found_sha)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temp = _write_temp(source, kind, destination.parent, destination.name)
    try:
        written = entry_sha256(temp, kind)
        if written != sha256:
            raise CopyVerificationError(
                f"copy of {source} to {destination} hashes to {written[:12]}, expected "
                f"{sha256[:12]}: the source changed while it was copied; re-run"
            )
        try:
            publish_no_overwrite(temp, destination)
        except FileExistsError:
            found = entry_kind(destination)
            found_sha = entry_sha256(destination, found) if found == kind else f"a {found}"
            if found_sha in accepted:
                return False
            raise DestinationConflictError(source, destination, sha256, found_sha) from None
    finally:
        temp.unlink(missing_ok=True)
    return True


def replace_contents(path: Path, data: bytes) -> None:
    """Atomically give the file `path` new contents, keeping its permission bits."""
    temp = path.parent / f".tmp-{path.name}{_TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with open(temp, "xb") as writer:
            writer.write(data)
            writer.flush()
            os.fsync(writer.fileno())
        shutil.copymode(path, temp)
        os.replace(temp, path)
        fsync_dir(path.parent)
    finally:
        temp.unlink(missing_ok=True)
