"""Atomic writes for the deploy helpers.

The same rules as `piano_assets.engine.files` (temporary name beside the target, fsync, rename),
kept apart because importing `piano_assets.engine` imports torch, and these helpers load in every
Dagster process (webserver, daemon) through `dagster.yaml`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _temporary_copy(target: Path, text: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".tmp-{target.name}.", dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(name)


def write_text_atomically(target: Path, text: str) -> None:
    """Replace `target` with `text`; a crash leaves only a `.tmp-*` file."""
    tmp = _temporary_copy(target, text)
    try:
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def create_text_exclusively(target: Path, text: str) -> bool:
    """Create `target` with `text` unless it exists (atomic, also on NFS); True if created."""
    tmp = _temporary_copy(target, text)
    try:
        os.link(tmp, target)  # fails if target exists: the first writer wins
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return True
