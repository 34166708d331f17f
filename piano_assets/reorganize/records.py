"""Records of the reorganization: plans, inventory, trash manifest, journal. Dagster-free.

Every record that reaches the disk is one of these pydantic models, one per jsonl line.
Paths are POSIX strings relative to the model repo root, so a repo can move and its
manifests still read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

EntryKind = Literal["file", "symlink"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Step(StrEnum):
    """The five reorganization steps; each is one asset of group `reorganize`."""

    PIPELINE_CODE = "masterclass_pipeline_code"
    PIPELINE_DATA = "masterclass_pipeline_data"
    LEGACY_TOOLS_REMOVED = "legacy_tools_removed"
    STALE_DATA_REMOVED = "stale_data_removed"
    SUPERSEDED_PLANS_REMOVED = "superseded_plans_removed"


class Area(StrEnum):
    """Parts of the repo that the reorganization moves or deletes (and so inventories)."""

    LEGACY_TOOLS = "legacy_tools"  # tools/
    STALE_PIANOTEQ = "stale_pianoteq"  # model/data/percepiano_pianoteq_rendered/
    OLD_COMPETITION_CACHE = "old_competition_cache"  # model/data/competition_cache/ (old)
    SUPERSEDED_PLANS = "superseded_plans"  # docs/plans/2026-02-15-model-improvement-*.md


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileEntry(_Record):
    """One file (or symlink) as found on disk; a symlink's sha256 is that of its target text."""

    path: str
    kind: EntryKind = "file"
    size: int
    sha256: str
    mtime_ns: int = 0


class InventoryRecord(FileEntry):
    """A file seen in an area before the reorganization touched it (the 'before' inventory)."""

    area: Area
    observed_at: datetime = Field(default_factory=utc_now)


class Move(_Record):
    """Copy `source` to `destination` (hash-verified); the source goes later, with `tools/`."""

    source: str
    destination: str
    kind: EntryKind = "file"
    size: int
    sha256: str
    rule: str  # which part of the mapping sends it there


class Rewrite(_Record):
    """Point the pipeline's default data directory at its new place (one literal, one file)."""

    path: str  # the file at the destination
    line: int
    old: str
    new: str
    original_sha256: str
    rewritten_sha256: str


class Deletion(_Record):
    """Move `path` to the trash; `verified_by` says why that loses nothing."""

    path: str
    kind: EntryKind = "file"
    size: int
    sha256: str
    reason: str
    verified_by: str = ""


class StepPlan(_Record):
    """Everything a step will do; a dry run reports it and stops."""

    step: Step
    moves: tuple[Move, ...] = ()
    rewrites: tuple[Rewrite, ...] = ()
    deletions: tuple[Deletion, ...] = ()
    directories: tuple[str, ...] = ()  # destination folders to create, empty ones included
    blockers: tuple[str, ...] = ()  # why the step must not act (it fails naming them)
    notes: tuple[str, ...] = ()

    @property
    def move_bytes(self) -> int:
        return sum(move.size for move in self.moves)

    @property
    def deletion_bytes(self) -> int:
        return sum(deletion.size for deletion in self.deletions)


class StepOutcome(BaseModel):
    """What a step did (or, in a dry run, would do)."""

    model_config = ConfigDict(extra="forbid")

    step: Step
    dry_run: bool
    plan: StepPlan
    copied: int = 0
    copied_bytes: int = 0
    already_in_place: int = 0
    rewritten: int = 0
    trashed: int = 0
    trashed_bytes: int = 0
    already_trashed: int = 0
    resumed_interrupted_run: bool = False
    details: dict[str, str] = Field(default_factory=dict)


# -- trash manifest (<root>/.piano_assets/trash/manifest.jsonl) ------------------------------
class TrashedRecord(_Record):
    record: Literal["trashed"] = "trashed"
    step: str
    original_path: str
    trash_path: str
    kind: EntryKind = "file"
    size: int
    sha256: str
    reason: str
    at: datetime = Field(default_factory=utc_now)


class PurgedRecord(_Record):
    """The trash file of `trash_path` was deleted for good, on explicit request."""

    record: Literal["purged"] = "purged"
    trash_path: str
    sha256: str
    size: int
    at: datetime = Field(default_factory=utc_now)


class RestoredRecord(_Record):
    """The trash file of `trash_path` went back to `original_path`."""

    record: Literal["restored"] = "restored"
    trash_path: str
    original_path: str
    sha256: str
    at: datetime = Field(default_factory=utc_now)


ManifestRecord = Annotated[
    TrashedRecord | PurgedRecord | RestoredRecord, Field(discriminator="record")
]


# -- journal (<root>/.piano_assets/reorganize/journal.jsonl) ---------------------------------
class JournalEvent(_Record):
    step: Step
    event: Literal["started", "rewritten", "cleared", "completed", "failed"]
    path: str | None = None
    detail: str = ""
    at: datetime = Field(default_factory=utc_now)


# -- folders (<root>/.piano_assets/reorganize/folders.jsonl) ---------------------------------
class FolderRecord(_Record):
    """A folder of an area as first seen ('seen'), or one a step made ('created').

    Files alone do not say which folders existed: a restore recreates the folders it removed
    (empty ones included) and removes, when empty, the ones the reorganization made.
    """

    path: str
    event: Literal["seen", "created"]
    area: Area | None = None  # for 'seen'
    step: Step | None = None  # for 'created'
    at: datetime = Field(default_factory=utc_now)


class CompetitionCacheCleared(_Record):
    """The old competition_cache/ contents went to the trash; what it holds now is new."""

    files: int
    bytes: int
    at: datetime = Field(default_factory=utc_now)
