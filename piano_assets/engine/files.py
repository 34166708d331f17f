"""Atomic writes, hashing and safe names: the file discipline every writer follows."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_SAFE_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_HASH_CHUNK = 1 << 20


class UnsafeNameError(ValueError):
    """A name that would escape its folder or is not portable as a file name."""


def validate_key(key: str) -> str:
    """Return `key` if it is a safe partition/file key, else raise `UnsafeNameError`.

    Keys are lower-case ASCII letters, digits, '.', '_' and '-', start with a letter or digit,
    hold no '..' and are at most 128 characters: safe as file names on every platform.
    """
    if not _SAFE_KEY.match(key) or ".." in key:
        raise UnsafeNameError(
            f"unsafe key {key!r}: use lower-case letters, digits, '.', '_', '-' "
            "(no path separators, no '..', at most 128 characters)"
        )
    return key


def safe_child(parent: Path, name: str) -> Path:
    """`parent / name`, refusing any name that would leave `parent`."""
    candidate = (parent / name).resolve()
    if parent.resolve() not in candidate.parents:
        raise UnsafeNameError(f"{name!r} escapes {parent}")
    return candidate


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(directory: Path) -> None:
    """Make a rename or link in `directory` durable (best effort: some filesystems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it is renamed onto `target`.

    A crash leaves only a `.tmp-*` file, which readers never take for a finished one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(target: Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file for writing; it replaces `target` only if the block succeeds."""
    if "b" in mode:
        encoding = None
    with atomic_path(target) as tmp, open(tmp, mode, encoding=encoding) as handle:
        yield handle


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_open(target, "wb") as handle:
        handle.write(data)


def atomic_write_text(target: Path, text: str) -> None:
    with atomic_open(target, "w") as handle:
        handle.write(text)


def is_temporary(path: Path) -> bool:
    """True for the half-written files that `atomic_path` leaves behind after a crash."""
    return path.name.startswith(".tmp-")
