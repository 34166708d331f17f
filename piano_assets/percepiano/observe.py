"""Summaries of the caches the user keeps: observed, never written. Dagster-free."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from piano_assets.engine.files import is_temporary


@dataclass(frozen=True)
class FolderSummary:
    path: Path
    exists: bool
    files: int
    bytes: int
    fingerprint: str  # changes when any file's name, size or mtime changes

    @property
    def data_version(self) -> str:
        return self.fingerprint if self.exists else "missing"


def summarize_folder(path: Path, ignore: tuple[str, ...] = ()) -> FolderSummary:
    """Count files and bytes, and fingerprint the listing cheaply (no content hashing).

    Top-level entries whose name starts with one of `ignore` are left out (outputs that the
    platform itself writes into a kept folder must not make its inputs look changed).
    """
    if not path.exists():
        return FolderSummary(path, exists=False, files=0, bytes=0, fingerprint="")
    digest = hashlib.sha256()
    files = 0
    total = 0
    candidates = (
        p
        for p in path.rglob("*")
        if p.is_file()
        and not is_temporary(p)
        and not p.relative_to(path).parts[0].startswith(ignore or ("\0",))
    )
    for item in sorted(candidates):
        stat = item.stat()
        files += 1
        total += stat.st_size
        digest.update(f"{item.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return FolderSummary(
        path, exists=True, files=files, bytes=total, fingerprint=digest.hexdigest()
    )
