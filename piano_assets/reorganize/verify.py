"""Read-only verification of the reorganization: the target layout and that no data was
lost (the inventory before = what is in place + at its destination + in the trash).
Dagster-free; the asset checks are thin wrappers around these functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize.ops import load_inventory, load_journal
from piano_assets.reorganize.paths import ReorganizePaths
from piano_assets.reorganize.plan import (
    OLD_DATA_DIR_LITERALS,
    PIPELINE_CODE_NAMED,
    PIPELINE_DATA_FILES,
    PIPELINE_DATA_NAMED,
    ToolsPart,
    entry_kind,
    entry_sha256,
    map_tools_path,
    new_data_dir_literal,
    superseding_candidates,
)
from piano_assets.reorganize.records import Area, InventoryRecord, Step, TrashedRecord
from piano_assets.reorganize.trash import Trash

Expectation = Literal["present", "absent", "kept", "observed"]


# -- layout -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayoutFinding:
    step: Step
    path: str
    expected: Expectation
    ok: bool
    detail: str


def _rel(layout: ModelRepoLayout, path: Path) -> str:
    return path.relative_to(layout.root).as_posix()


def _present(layout: ModelRepoLayout, step: Step, path: Path, *, folder: bool) -> LayoutFinding:
    ok = path.is_dir() if folder else path.is_file()
    what = "folder" if folder else "file"
    return LayoutFinding(
        step, _rel(layout, path), "present", ok, f"{what} present" if ok else f"{what} missing"
    )


def _absent(layout: ModelRepoLayout, step: Step, path: Path) -> LayoutFinding:
    gone = not path.exists() and not path.is_symlink()
    return LayoutFinding(
        step, _rel(layout, path), "absent", gone, "gone" if gone else "still there"
    )


def _default_data_dir(layout: ModelRepoLayout) -> LayoutFinding:
    src = layout.pipeline / "src"
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(src.rglob("*.rs"))]
    new = new_data_dir_literal(layout)
    old_left = [literal for literal in OLD_DATA_DIR_LITERALS if any(literal in t for t in texts)]
    ok = any(new in text for text in texts) and not old_left
    detail = f"default data dir is {new}" if ok else f"{new} not found, or {old_left} left"
    return LayoutFinding(Step.PIPELINE_CODE, _rel(layout, src), "present", ok, detail)


def layout_findings(layout: ModelRepoLayout) -> list[LayoutFinding]:
    """What the target layout wants present, absent or kept, one finding each, by the step in
    charge (docs/target-layout.md)."""
    findings: list[LayoutFinding] = []
    code, data = Step.PIPELINE_CODE, Step.PIPELINE_DATA
    for name in PIPELINE_CODE_NAMED:
        findings.append(_present(layout, code, layout.pipeline / name, folder=name != "Cargo.toml"))
    findings.append(_default_data_dir(layout))
    for name in PIPELINE_DATA_NAMED:
        is_folder = name not in PIPELINE_DATA_FILES
        findings.append(_present(layout, data, layout.pipeline_data / name, folder=is_folder))
    findings.append(_absent(layout, Step.LEGACY_TOOLS_REMOVED, layout.legacy_tools))

    stale = Step.STALE_DATA_REMOVED
    findings.append(_absent(layout, stale, layout.stale_pianoteq))
    findings.append(_old_competition_gone(layout))
    findings.append(_present(layout, stale, layout.percepiano_embeddings, folder=False))
    for folder in layout.kept_data_dirs():
        ok = folder.is_dir()
        findings.append(
            LayoutFinding(
                stale,
                _rel(layout, folder),
                "kept",
                ok,
                "kept" if ok else "absent (never touched by the reorganization)",
            )
        )

    labels = layout.composite_labels.is_dir()
    findings.append(
        LayoutFinding(
            stale,
            _rel(layout, layout.composite_labels),
            "observed",
            True,
            "present (produced elsewhere)" if labels else "absent (produced elsewhere, later)",
        )
    )

    plans = Step.SUPERSEDED_PLANS_REMOVED
    names = (
        sorted(p.name for p in layout.plans_dir.glob("*.md")) if layout.plans_dir.is_dir() else []
    )
    for old in layout.superseded_plans:
        findings.append(_absent(layout, plans, old))
        newer = superseding_candidates(old.name, names)
        findings.append(
            LayoutFinding(
                plans,
                _rel(layout, layout.plans_dir) + "/",
                "present",
                bool(newer),
                f"superseded by {newer}" if newer else f"no newer plan supersedes {old.name}",
            )
        )
    return findings


def _old_competition_gone(layout: ModelRepoLayout) -> LayoutFinding:
    step = Step.STALE_DATA_REMOVED
    path = _rel(layout, layout.competition_cache) + "/ (old contents)"
    if not ReorganizePaths(layout).competition_cache_cleared.exists():
        return LayoutFinding(step, path, "absent", False, "not cleared yet")
    left = [
        record.path
        for record in load_inventory(layout).records([Area.OLD_COMPETITION_CACHE])
        if _holds(layout.root / record.path, record.sha256)
    ]
    if left:
        return LayoutFinding(step, path, "absent", False, f"old files still there: {left[:5]}")
    return LayoutFinding(step, path, "absent", True, "cleared")


def _holds(path: Path, sha256: str) -> bool:
    kind = entry_kind(path)
    return kind is not None and entry_sha256(path, kind) == sha256


# -- no data lost -----------------------------------------------------------------------------
class Location(StrEnum):
    DESTINATION = "at its destination"
    TRASH = "in the trash"
    IN_PLACE = "in place (not moved yet)"
    PURGED = "purged on request"
    MISSING = "MISSING"


@dataclass(frozen=True)
class Accounted:
    record: InventoryRecord
    location: Location
    where: str


@dataclass(frozen=True)
class Accounting:
    items: tuple[Accounted, ...]

    @property
    def missing(self) -> list[Accounted]:
        return [item for item in self.items if item.location is Location.MISSING]

    def totals(self) -> dict[Location, tuple[int, int]]:
        files: Counter[Location] = Counter()
        sizes: Counter[Location] = Counter()
        for item in self.items:
            files[item.location] += 1
            sizes[item.location] += item.record.size
        return {location: (files[location], sizes[location]) for location in Location}

    @property
    def before(self) -> tuple[int, int]:
        return len(self.items), sum(item.record.size for item in self.items)


STEP_AREAS: dict[Step, tuple[Area, ...]] = {
    Step.PIPELINE_CODE: (Area.LEGACY_TOOLS,),
    Step.PIPELINE_DATA: (Area.LEGACY_TOOLS,),
    Step.LEGACY_TOOLS_REMOVED: (Area.LEGACY_TOOLS,),
    Step.STALE_DATA_REMOVED: (Area.STALE_PIANOTEQ, Area.OLD_COMPETITION_CACHE),
    Step.SUPERSEDED_PLANS_REMOVED: (Area.SUPERSEDED_PLANS,),
}
_STEP_PART = {Step.PIPELINE_CODE: ToolsPart.CODE, Step.PIPELINE_DATA: ToolsPart.DATA}


def _records_for(layout: ModelRepoLayout, step: Step | None) -> list[InventoryRecord]:
    records = load_inventory(layout).records(STEP_AREAS[step] if step else None)
    part = _STEP_PART.get(step) if step else None
    if part is not None:
        records = [r for r in records if map_tools_path(layout, r.path).part is part]
    return sorted(records, key=lambda record: record.path)


def account_for_inventory(layout: ModelRepoLayout, step: Step | None = None) -> Accounting:
    """Where is each file of the 'before' inventory now? (All steps, or one step's files.)"""
    trash = Trash(layout)
    rewrites = load_journal(layout).rewrites()
    trashed = trash.all_records()
    gone = trash.gone_paths()
    purged = trash.purged_paths()
    hashes: dict[Path, str | None] = {}

    def sha_of(path: Path) -> str | None:
        if path not in hashes:
            kind = entry_kind(path)
            hashes[path] = entry_sha256(path, kind) if kind is not None else None
        return hashes[path]

    items: list[Accounted] = []
    for record in _records_for(layout, step):
        items.append(_locate(layout, record, trashed, (gone, purged), rewrites, sha_of))
    return Accounting(tuple(items))


def _locate(
    layout: ModelRepoLayout,
    record: InventoryRecord,
    trashed: Sequence[TrashedRecord],
    gone_and_purged: tuple[set[str], set[str]],
    rewrites: dict[str, tuple[str, str]],
    sha_of: Callable[[Path], str | None],
) -> Accounted:
    root = layout.root
    gone, purged = gone_and_purged
    destination = None
    if record.area is Area.LEGACY_TOOLS:
        destination = map_tools_path(layout, record.path).destination
    rewritten = False
    if destination is not None:
        found = sha_of(root / destination)
        if found == record.sha256:
            return Accounted(record, Location.DESTINATION, destination)
        rewritten = rewrites.get(destination) == (record.sha256, found)
    names = {record.path, destination}
    candidates = [t for t in trashed if t.original_path in names and t.sha256 == record.sha256]
    for entry in candidates:
        if entry.trash_path not in gone and sha_of(root / entry.trash_path) == record.sha256:
            note = f" ({destination} holds the rewritten version)" if rewritten else ""
            return Accounted(record, Location.TRASH, entry.trash_path + note)
    if sha_of(root / record.path) == record.sha256:
        return Accounted(record, Location.IN_PLACE, record.path)
    if any(entry.trash_path in purged for entry in candidates):
        return Accounted(record, Location.PURGED, "deleted for good by an explicit purge")
    return Accounted(
        record, Location.MISSING, "nowhere: not in place, at its destination or in the trash"
    )
