"""Where the reorganization keeps its own state inside the model repo. Dagster-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from piano_assets.layout import ModelRepoLayout


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
    def lock(self) -> Path:
        return self.state / "lock"

    @property
    def plans(self) -> Path:
        """The last plan each step applied (audit trail)."""
        return self.state / "plans"

    @property
    def competition_cache_cleared(self) -> Path:
        """Written once the old competition_cache/ contents are in the trash; from then on,
        what competition_cache/ holds is new (T2's) and this step never touches it again."""
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
        pure = PurePosixPath(relative)
        if pure.is_absolute() or ".." in pure.parts:
            raise ValueError(f"{relative!r} is not a path inside the model repo")
        return self.root.joinpath(*pure.parts)
