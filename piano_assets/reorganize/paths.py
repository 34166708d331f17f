"""Where the reorganization keeps its own state inside the model repo. Dagster-free."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar

from pydantic import BaseModel

from piano_assets.layout import ModelRepoLayout

# The fields of the state's records that name files, and the top-level folders they lie in.
PATH_FIELDS: tuple[str, ...] = ("path", "original_path", "trash_path")
_TOP_FOLDERS: tuple[str, ...] = ("tools", "model", "docs", ".piano_assets")
_R = TypeVar("_R", bound=BaseModel)


@dataclass(frozen=True)
class ReorganizePaths:
    layout: ModelRepoLayout

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def state(self) -> Path:
        return self.layout.platform / "reorganize"

    @property
    def inventory(self) -> Path:
        """Every file of the moved/deleted areas as first seen: the 'before' inventory."""
        return self.state / "inventory.jsonl"

    @property
    def journal(self) -> Path:
        return self.state / "journal.jsonl"

    @property
    def folders(self) -> Path:
        """Folders of the areas as first seen, and folders the steps created."""
        return self.state / "folders.jsonl"

    @property
    def lock(self) -> Path:
        return self.state / "lock"

    @property
    def plans(self) -> Path:
        """The last plan each step applied (audit trail)."""
        return self.state / "plans"

    @property
    def competition_cache_cleared(self) -> Path:
        """Written once the old competition_cache/ contents are in the trash; from then on,
        only files of the 'before' inventory are old there (a restore may bring them back);
        everything else competition_cache/ holds is new (T2's) and is never touched."""
        return self.state / "competition_cache_cleared.json"

    @property
    def cargo_target(self) -> Path:
        """Build output of the pipeline check, kept out of the pipeline's source tree."""
        return self.state / "cargo-target"

    @property
    def trash(self) -> Path:
        return self.layout.trash

    @property
    def manifest(self) -> Path:
        return self.trash / "manifest.jsonl"

    def relative(self, path: Path) -> str:
        """`path` as a POSIX string relative to the root (how every record names files)."""
        return path.relative_to(self.root).as_posix()

    def absolute(self, relative: str) -> Path:
        pure = PurePosixPath(self.record_path(relative))
        if pure.is_absolute() or ".." in pure.parts:
            raise ValueError(f"{relative!r} is not a path inside the model repo")
        return self.root.joinpath(*pure.parts)

    # -- records written with absolute paths (older versions) ------------------------------
    def record_path(self, value: str) -> str:
        """A record's path relative to the root. Absolute paths (as older state may hold) are
        taken relative to this root, or to the root the state was written under when the
        repo has moved since; a path that fits neither is returned unchanged."""
        pure = PurePosixPath(value)
        if not pure.is_absolute():
            return value
        for root in (PurePosixPath(self.root.as_posix()), self._recorded_root()):
            if root is not None and (pure == root or root in pure.parents):
                return pure.relative_to(root).as_posix()
        return value

    def relative_record(self, record: _R) -> _R:
        """`record` with every path field relative to the root (see `record_path`)."""
        update = {
            name: self.record_path(value)
            for name in PATH_FIELDS
            if isinstance(value := getattr(record, name, None), str) and value.startswith("/")
        }
        return record.model_copy(update=update) if update else record

    def _recorded_root(self) -> PurePosixPath | None:
        return _recorded_root((self.manifest, self.inventory, self.journal, self.folders))


def _root_candidates(path: str) -> set[str]:
    """Prefixes of an absolute record path that could be the repo root it was written under:
    whatever precedes one of the repo's top-level folders."""
    parts = PurePosixPath(path).parts
    return {
        PurePosixPath(*parts[:index]).as_posix()
        for index in range(1, len(parts))
        if parts[index] in _TOP_FOLDERS
    }


@functools.lru_cache(maxsize=8)
def _recorded_root_cached(files: tuple[tuple[str, int, int], ...]) -> PurePosixPath | None:
    common: set[str] | None = None
    for name, _size, _mtime in files:
        for value in _absolute_values(Path(name)):
            candidates = _root_candidates(value)
            common = candidates if common is None else common & candidates
    if not common:
        return None
    return PurePosixPath(max(common, key=len))  # the deepest root every path agrees on


def _recorded_root(files: Iterable[Path]) -> PurePosixPath | None:
    """The root the absolute paths of the state files were written under (None: none)."""
    present = tuple(
        (str(path), stat.st_size, stat.st_mtime_ns)
        for path in files
        if path.is_file() and (stat := path.stat())
    )
    return _recorded_root_cached(present)


def _absolute_values(path: Path) -> Iterable[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a crash; the readers skip it too
        if isinstance(record, dict):
            for name in PATH_FIELDS:
                value = record.get(name)
                if isinstance(value, str) and value.startswith("/"):
                    yield value
