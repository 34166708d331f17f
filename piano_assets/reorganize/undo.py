"""Undoing the reorganization: the trash goes back, and the copies that duplicate it go.

After apply → restore (all steps) the repo is what it was, byte for byte, outside the
housekeeping folder `.piano_assets/`: every trashed file is back at its path (the rewritten
`main.rs` gets its original bytes: the rewrite is derived and can be made again), the copies
under `model/` that are hash-equal to a restored source go (the source is back, so nothing
is lost), the folders the steps created go when empty, and the folders the removals took
come back, empty ones included. What the tiers or the pipeline wrote since stays, and a
different file at an original path is never overwritten. Restoring some steps only undoes
those: restoring `legacy_tools_removed` alone brings `tools/` back and keeps the copies.
Dagster-free.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from pathlib import Path

from piano_assets.engine.files import fsync_dir
from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize.errors import FileSystemError, TrashError, describe_os_error
from piano_assets.reorganize.lock import reorganize_lock
from piano_assets.reorganize.ops import Folders, Inventory, Journal
from piano_assets.reorganize.paths import ReorganizePaths
from piano_assets.reorganize.plan import ToolsPart, entry_kind, entry_sha256, map_tools_path
from piano_assets.reorganize.records import Area, Step
from piano_assets.reorganize.trash import (
    Logger,
    Trash,
    TrashOutcome,
    remove_empty_folders,
    restore_files,
)

# The step that removed each area's files (and so its folders).
REMOVED_BY: dict[Area, Step] = {
    Area.LEGACY_TOOLS: Step.LEGACY_TOOLS_REMOVED,
    Area.STALE_PIANOTEQ: Step.STALE_DATA_REMOVED,
    Area.OLD_COMPETITION_CACHE: Step.STALE_DATA_REMOVED,
    Area.SUPERSEDED_PLANS: Step.SUPERSEDED_PLANS_REMOVED,
}
# The steps that copied files out of tools/, by the part of the mapping they copy.
COPIED_BY: dict[Step, ToolsPart] = {
    Step.PIPELINE_CODE: ToolsPart.CODE,
    Step.PIPELINE_DATA: ToolsPart.DATA,
}


def restore_reorganization(
    layout: ModelRepoLayout,
    *,
    steps: Collection[str] | None = None,
    log: Logger | None = None,
) -> TrashOutcome:
    """Undo `steps` (all when None or empty); see the module's docstring."""
    chosen = {Step(step) for step in steps} if steps else set(Step)
    paths = ReorganizePaths(layout)
    try:
        with reorganize_lock(paths):
            return _restore(layout, paths, chosen, log)
    except OSError as err:
        raise FileSystemError(
            f"restore: {describe_os_error(err, layout.root)}; what was restored so far stays, "
            "and a re-run continues"
        ) from err


def _restore(
    layout: ModelRepoLayout, paths: ReorganizePaths, chosen: set[Step], log: Logger | None
) -> TrashOutcome:
    journal, inventory, folders = Journal(paths), Inventory(paths), Folders(paths)
    derived = {
        (destination, original): rewritten
        for destination, (original, rewritten) in journal.rewrites().items()
    }
    conflicts: TrashError | None = None
    try:
        outcome = restore_files(Trash(layout), [s.value for s in chosen], log, derived)
    except TrashError as err:  # the others were restored; undo what can be, then say so
        conflicts, outcome = err, TrashOutcome(0, 0, ())
    removed = 0
    for step, part in COPIED_BY.items():
        if step in chosen:
            removed += _remove_duplicate_copies(layout, inventory, journal, part, log)
    _remove_created_folders(layout, folders, chosen)
    for area, step in REMOVED_BY.items():
        if step in chosen:
            for relative in folders.seen_in([area]):
                folder = paths.absolute(relative)
                if not folder.is_dir():
                    folder.mkdir(parents=True, exist_ok=True)
    if conflicts is not None:
        raise conflicts
    return TrashOutcome(outcome.files, outcome.bytes, outcome.paths, copies_removed=removed)


def _holds(path: Path, kind: str, sha256: str) -> bool:
    found = entry_kind(path)
    return found == kind and entry_sha256(path, found) == sha256


def _remove_duplicate_copies(
    layout: ModelRepoLayout,
    inventory: Inventory,
    journal: Journal,
    part: ToolsPart,
    log: Logger | None,
) -> int:
    """Delete each copy under model/ whose source is back in tools/ with the same bytes (or
    whose bytes are the rewrite of that source). A copy whose source is not back stays."""
    rewrites = journal.rewrites()
    removed = 0
    for record in inventory.records([Area.LEGACY_TOOLS]):
        mapped = map_tools_path(layout, record.path)
        if mapped.part is not part or mapped.destination is None:
            continue
        source = layout.root / record.path
        copy = layout.root / mapped.destination
        if not _holds(source, record.kind, record.sha256):
            continue  # the copy is the only one: keep it
        kind = entry_kind(copy)
        if kind != record.kind:
            continue
        found = entry_sha256(copy, kind)
        if found != record.sha256 and rewrites.get(mapped.destination) != (record.sha256, found):
            continue  # changed since it was copied: not ours to delete
        copy.unlink()
        fsync_dir(copy.parent)
        removed += 1
        if log:
            log(f"removed the copy {mapped.destination} ({record.path} is back)")
    return removed


def _remove_created_folders(layout: ModelRepoLayout, folders: Folders, chosen: set[Step]) -> None:
    """The folders the chosen steps made, when empty, deepest first."""
    steps = [step for step in COPIED_BY if step in chosen]
    created = folders.created(steps)
    if not created and steps:
        # State from before folders were recorded: the copy steps' own trees.
        for step in steps:
            top = layout.pipeline if step is Step.PIPELINE_CODE else layout.pipeline_data
            remove_empty_folders(top)
        return
    for relative in sorted(set(created), key=lambda p: -p.count("/")):
        folder = layout.root / relative
        if folder.is_dir() and not folder.is_symlink():
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: anything written there since stays
