"""Executing the reorganization: the five steps, each safe to re-run. Dagster-free.

Every step plans first (`plan`), and in a dry run returns that plan having written nothing.
Otherwise it takes the repo's reorganization lock, records the files it is about to move or
delete in the 'before' inventory (`.piano_assets/reorganize/inventory.jsonl`, append-only),
and acts. The disk is the truth: each file operation first looks at what is there (an equal
file at the destination, a file already in the trash) and finishes or skips, so a re-run
after a crash at any point (kill -9 in the middle of a copy included) completes the job.
The journal (`journal.jsonl`) records when each step started and completed, the rewrite of
the pipeline's default data directory, and the clearing of the old competition cache, so a
re-run can say that it resumes an interrupted one.

Moves copy (hash-verified, never overwriting); the sources go with `tools/`, after every
file is verified at its destination. Deletions go to the trash (`trash.Trash`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter

from piano_assets.engine.files import atomic_write_text
from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize.errors import (
    DestinationConflictError,
    FileSystemError,
    ReorganizeError,
    StepBlockedError,
    describe_os_error,
)
from piano_assets.reorganize.ledger import append_records, read_records
from piano_assets.reorganize.lock import StepLog, reorganize_lock
from piano_assets.reorganize.paths import ReorganizePaths
from piano_assets.reorganize.plan import (
    Scan,
    UnsupportedEntryError,
    entry_kind,
    entry_sha256,
    format_bytes,
    new_data_dir_literal,
    plan_legacy_tools_removal,
    plan_pipeline_code,
    plan_pipeline_data,
    plan_stale_data_removal,
    plan_superseded_plans_removal,
    scan,
    scan_pipeline_code,
)
from piano_assets.reorganize.records import (
    Area,
    CompetitionCacheCleared,
    Deletion,
    FileEntry,
    FolderRecord,
    InventoryRecord,
    JournalEvent,
    Rewrite,
    Step,
    StepOutcome,
    StepPlan,
)
from piano_assets.reorganize.transfer import (
    copy_verified,
    replace_contents,
    sweep_stale_temps,
)
from piano_assets.reorganize.trash import Trash, purge_trash, remove_empty_folders, restore_trash

__all__ = [
    "STEP_RUNNERS",
    "purge_trash",
    "restore_trash",
    "run_all",
    "run_legacy_tools_removal",
    "run_pipeline_code",
    "run_pipeline_data",
    "run_stale_data_removal",
    "run_superseded_plans_removal",
]

_LOG = logging.getLogger(__name__)
_INVENTORY = TypeAdapter(InventoryRecord)
_JOURNAL = TypeAdapter(JournalEvent)
_FOLDERS = TypeAdapter(FolderRecord)
_PROGRESS_EVERY_S = 10.0
_MAX_LISTED = 20  # problems listed in an error message; metadata lists them all


# -- the 'before' inventory and the journal ---------------------------------------------------
class Inventory:
    """Every file of the moved/deleted areas as first seen (latest record per path wins)."""

    def __init__(self, paths: ReorganizePaths) -> None:
        self.paths = paths
        self._latest: dict[str, InventoryRecord] = {}
        for record in read_records(paths.inventory, _INVENTORY):
            record = paths.relative_record(record)  # noqa: PLW2901 - old absolute records
            self._latest[record.path] = record

    def known(self) -> dict[str, FileEntry]:
        return dict(self._latest)

    def records(self, areas: Sequence[Area] | None = None) -> list[InventoryRecord]:
        return [r for r in self._latest.values() if areas is None or r.area in areas]

    def merge(self, entries: Sequence[FileEntry], area: Area) -> int:
        """Record entries not seen before (or changed since: the source is the authority
        until it moves). Returns how many records were added."""
        fresh: list[InventoryRecord] = []
        for entry in entries:
            latest = self._latest.get(entry.path)
            if latest is not None and (latest.sha256, latest.kind) == (entry.sha256, entry.kind):
                continue
            record = InventoryRecord(
                path=entry.path,
                kind=entry.kind,
                size=entry.size,
                sha256=entry.sha256,
                mtime_ns=entry.mtime_ns,
                area=area,
            )
            fresh.append(record)
            self._latest[record.path] = record
        append_records(self.paths.inventory, fresh)
        return len(fresh)


class Journal:
    def __init__(self, paths: ReorganizePaths) -> None:
        self.paths = paths
        self.events: list[JournalEvent] = [
            paths.relative_record(event) for event in read_records(paths.journal, _JOURNAL)
        ]

    def record(self, step: Step, event: str, path: str | None = None, detail: str = "") -> None:
        entry = JournalEvent(step=step, event=event, path=path, detail=detail)  # type: ignore[arg-type]
        append_records(self.paths.journal, [entry])
        self.events.append(entry)

    def interrupted_since(self, step: Step) -> JournalEvent | None:
        """The 'started' event of a run of `step` that neither completed nor failed: a run
        killed on the way (a crash, kill -9, a lost machine), if any."""
        last = None
        for event in self.events:
            if event.step == step and event.event in ("started", "completed", "failed"):
                last = event
        return last if last is not None and last.event == "started" else None

    def rewrites(self) -> dict[str, tuple[str, str]]:
        """Destination path -> (original sha256, rewritten sha256) of each rewrite done."""
        found: dict[str, tuple[str, str]] = {}
        for event in self.events:
            if event.event == "rewritten" and event.path:
                original, _, rewritten = event.detail.partition(" -> ")
                found[event.path] = (original, rewritten)
        return found


class Folders:
    """Folders of the areas as first seen, and the folders the steps created (append-only)."""

    def __init__(self, paths: ReorganizePaths) -> None:
        self.paths = paths
        self.records: list[FolderRecord] = [
            paths.relative_record(record) for record in read_records(paths.folders, _FOLDERS)
        ]
        self._known = {(r.path, r.event) for r in self.records}

    def _append(self, fresh: list[FolderRecord]) -> None:
        append_records(self.paths.folders, fresh)
        self.records.extend(fresh)
        self._known.update((r.path, r.event) for r in fresh)

    def seen(self, directories: Sequence[str], area: Area) -> None:
        self._append(
            [
                FolderRecord(path=d, event="seen", area=area)
                for d in dict.fromkeys(directories)
                if (d, "seen") not in self._known
            ]
        )

    def make(self, folder: Path, step: Step) -> None:
        """mkdir -p `folder`, recording (before it acts) each folder it will create."""
        missing: list[Path] = []
        current = folder
        while current != self.paths.root and not current.exists():
            missing.append(current)
            current = current.parent
        self._append(
            [
                FolderRecord(path=self.paths.relative(path), event="created", step=step)
                for path in reversed(missing)
                if (self.paths.relative(path), "created") not in self._known
            ]
        )
        folder.mkdir(parents=True, exist_ok=True)

    def created(self, steps: Sequence[Step] | None = None) -> list[str]:
        return [
            r.path
            for r in self.records
            if r.event == "created" and (steps is None or r.step in steps)
        ]

    def seen_in(self, areas: Sequence[Area]) -> list[str]:
        return [r.path for r in self.records if r.event == "seen" and r.area in areas]


def load_inventory(layout: ModelRepoLayout) -> Inventory:
    return Inventory(ReorganizePaths(layout))


def load_journal(layout: ModelRepoLayout) -> Journal:
    return Journal(ReorganizePaths(layout))


# -- running one step -------------------------------------------------------------------------
@dataclass
class _Run:
    layout: ModelRepoLayout
    step: Step
    dry_run: bool
    log: StepLog
    paths: ReorganizePaths = field(init=False)
    inventory: Inventory = field(init=False)
    journal: Journal = field(init=False)
    folders: Folders = field(init=False)
    outcome: StepOutcome | None = None

    def __post_init__(self) -> None:
        self.paths = ReorganizePaths(self.layout)
        self.inventory = Inventory(self.paths)
        self.journal = Journal(self.paths)
        self.folders = Folders(self.paths)

    def record_before(self, found: Scan, area: Area) -> None:
        """The 'before' inventory of what this step is about to move or delete."""
        self.inventory.merge(found.entries, area)
        self.folders.seen(found.directories, area)

    @property
    def root(self) -> Path:
        return self.layout.root

    def begin(self, plan: StepPlan) -> StepOutcome:
        self.outcome = StepOutcome(step=self.step, dry_run=self.dry_run, plan=plan)
        return self.outcome

    def require_unblocked(self) -> None:
        if self.outcome is None:
            raise RuntimeError("begin() must run before require_unblocked()")
        plan = self.outcome.plan
        if plan.blockers:
            shown = [f"  - {blocker}" for blocker in plan.blockers[:_MAX_LISTED]]
            if len(plan.blockers) > _MAX_LISTED:
                shown.append(f"  ... and {len(plan.blockers) - _MAX_LISTED} more (see metadata)")
            raise StepBlockedError(f"{self.step} stopped:\n" + "\n".join(shown), plan)


@contextlib.contextmanager
def _step(
    layout: ModelRepoLayout, step: Step, dry_run: bool, log: StepLog | None
) -> Iterator[_Run]:
    run = _Run(layout, step, dry_run, log or _LOG)
    if dry_run:
        try:
            yield run  # reads only: no lock, no journal, no inventory
        except OSError as err:  # an unreadable file, a folder where a file is expected
            raise FileSystemError(
                f"{step} (dry run): {describe_os_error(err, layout.root)}"
            ) from err
        except UnsupportedEntryError as err:
            raise FileSystemError(f"{step} (dry run): {err}") from err
        return
    with reorganize_lock(run.paths, log=run.log):
        run.journal = Journal(run.paths)  # re-read under the lock
        run.inventory = Inventory(run.paths)
        run.folders = Folders(run.paths)
        interrupted = run.journal.interrupted_since(step)
        run.journal.record(step, "started")
        try:
            yield run
        except OSError as err:
            # The file system said no (read-only, permissions, full disk, a file in the way):
            # that is this step's failure, in words, not a traceback that stops the others.
            failure = FileSystemError(
                f"{describe_os_error(err, layout.root)}. The step stopped there; nothing was "
                "lost, and a re-run resumes once this is fixed"
            )
            run.journal.record(step, "failed", detail=str(failure)[:500])
            raise failure from err
        except UnsupportedEntryError as err:
            failure = FileSystemError(f"{step}: {err}")
            run.journal.record(step, "failed", detail=str(failure)[:500])
            raise failure from err
        except Exception as err:
            # A failure, as opposed to a crash (kill -9 leaves 'started' as the last word).
            run.journal.record(step, "failed", detail=str(err)[:500])
            raise
        if run.outcome is not None:
            run.outcome.resumed_interrupted_run = interrupted is not None
            if interrupted is not None:
                run.log.info(f"{step}: finished a run interrupted at {interrupted.at.isoformat()}")
            atomic_write_text(
                run.paths.plans / f"{step}.json", run.outcome.plan.model_dump_json(indent=2) + "\n"
            )
        run.journal.record(step, "completed")


class _Progress:
    def __init__(self, log: StepLog, verb: str, total_files: int, total_bytes: int) -> None:
        self.log, self.verb = log, verb
        self.total_files, self.total_bytes = total_files, total_bytes
        self.files = self.bytes = 0
        self.last = time.monotonic()

    def advance(self, size: int) -> None:
        self.files += 1
        self.bytes += size
        now = time.monotonic()
        if now - self.last >= _PROGRESS_EVERY_S or self.files == self.total_files:
            self.last = now
            self.log.info(
                f"{self.verb} {self.files}/{self.total_files} files "
                f"({format_bytes(self.bytes)} of {format_bytes(self.total_bytes)})"
            )


def _execute_moves(run: _Run, outcome: StepOutcome, accept: dict[str, frozenset[str]]) -> None:
    plan = outcome.plan
    for directory in plan.directories:
        run.folders.make(run.root / directory, run.step)
    for move in plan.moves:  # parents of files whose folders the plan does not list
        run.folders.make((run.root / move.destination).parent, run.step)
    conflicts: list[str] = []
    progress = _Progress(run.log, "moved", len(plan.moves), plan.move_bytes)
    for move in plan.moves:
        try:
            copied = copy_verified(
                run.root / move.source,
                run.root / move.destination,
                kind=move.kind,
                sha256=move.sha256,
                also_accept=accept.get(move.destination, frozenset()),
            )
        except DestinationConflictError as err:
            conflicts.append(str(err))
            continue
        if copied:
            outcome.copied += 1
            outcome.copied_bytes += move.size
        else:
            outcome.already_in_place += 1
        progress.advance(move.size)
    if conflicts:
        listed = conflicts[:_MAX_LISTED]
        if len(conflicts) > _MAX_LISTED:
            listed.append(f"... and {len(conflicts) - _MAX_LISTED} more")
        raise ReorganizeError(
            f"{run.step}: {len(conflicts)} destination(s) hold different files; nothing was "
            "overwritten and the other files were copied:\n" + "\n".join(listed),
            plan.model_copy(update={"blockers": tuple(conflicts)}),
        )


def _trash_all(
    run: _Run, outcome: StepOutcome, deletions: Sequence[Deletion], trash: Trash
) -> None:
    progress = _Progress(run.log, "trashed", len(deletions), sum(d.size for d in deletions))
    for deletion in deletions:
        moved = trash.put(
            deletion.path,
            step=run.step,
            reason=deletion.reason,
            kind=deletion.kind,
            sha256=deletion.sha256,
            size=deletion.size,
        )
        if moved:
            outcome.trashed += 1
            outcome.trashed_bytes += deletion.size
        else:
            outcome.already_trashed += 1
        progress.advance(deletion.size)


def _require_gone(path: Path, run: _Run) -> None:
    if path.exists() or path.is_symlink():
        left = sorted(p.relative_to(run.root).as_posix() for p in path.rglob("*"))[:20]
        raise ReorganizeError(
            f"{path} still holds entries that appeared during the run: {left}; re-run to plan them"
        )


# -- step 1: masterclass_pipeline_code --------------------------------------------------------
def run_pipeline_code(
    layout: ModelRepoLayout, *, dry_run: bool = False, log: StepLog | None = None
) -> StepOutcome:
    """Copy the crate (src/, Cargo.toml, .claude/, Cargo.lock, ...) to model/tools/ and point
    its default data directory at model/data/masterclass_pipeline."""
    with _step(layout, Step.PIPELINE_CODE, dry_run, log) as run:
        tools = scan_pipeline_code(layout, run.inventory.known())
        plan, search = plan_pipeline_code(layout, tools)
        outcome = run.begin(plan)
        if dry_run:
            return outcome
        run.record_before(tools, Area.LEGACY_TOOLS)
        run.require_unblocked()
        sweep_stale_temps(layout.pipeline)
        accept = {r.path: frozenset({r.rewritten_sha256}) for r in plan.rewrites}
        _execute_moves(run, outcome, accept)
        if search.rewrite is not None and search.rewritten_text is not None:
            outcome.rewritten = _apply_rewrite(run, search.rewrite, search.rewritten_text)
        outcome.details["default data dir"] = new_data_dir_literal(layout)
        return outcome


def _apply_rewrite(run: _Run, rewrite: Rewrite, rewritten_text: bytes) -> int:
    target = run.root / rewrite.path
    kind = entry_kind(target)
    current = entry_sha256(target, kind) if kind == "file" else f"a {kind}"
    if current == rewrite.rewritten_sha256:
        return 0
    if current != rewrite.original_sha256:
        raise ReorganizeError(
            f"{target} changed since it was copied (sha256 {current[:12]}, expected "
            f"{rewrite.original_sha256[:12]}); its default data dir was not rewritten"
        )
    # The bytes before the rewrite stay recoverable in the trash.
    Trash(run.layout).put(
        rewrite.path,
        step=run.step,
        reason=f"original of {rewrite.path} before {rewrite.old} -> {rewrite.new}",
        kind="file",
        sha256=rewrite.original_sha256,
        size=target.stat().st_size,
        keep_original=True,
    )
    replace_contents(target, rewritten_text)
    run.journal.record(
        run.step,
        "rewritten",
        rewrite.path,
        f"{rewrite.original_sha256} -> {rewrite.rewritten_sha256}",
    )
    run.log.info(f"{rewrite.path}:{rewrite.line}: {rewrite.old} -> {rewrite.new}")
    return 1


# -- step 2: masterclass_pipeline_data --------------------------------------------------------
def run_pipeline_data(
    layout: ModelRepoLayout, *, dry_run: bool = False, log: StepLog | None = None
) -> StepOutcome:
    """Copy tools/masterclass-pipeline/data/* to model/data/masterclass_pipeline/."""
    with _step(layout, Step.PIPELINE_DATA, dry_run, log) as run:
        tools = scan(layout.root, layout.legacy_pipeline_data, run.inventory.known())
        outcome = run.begin(plan_pipeline_data(layout, tools))
        if dry_run:
            return outcome
        run.record_before(tools, Area.LEGACY_TOOLS)
        run.require_unblocked()
        sweep_stale_temps(layout.pipeline_data)
        _execute_moves(run, outcome, {})
        return outcome


# -- step 3: legacy_tools_removed -------------------------------------------------------------
def run_legacy_tools_removal(
    layout: ModelRepoLayout, *, dry_run: bool = False, log: StepLog | None = None
) -> StepOutcome:
    with _step(layout, Step.LEGACY_TOOLS_REMOVED, dry_run, log) as run:
        tools = scan(layout.root, layout.legacy_tools)  # full hashes: this step deletes
        outcome = run.begin(plan_legacy_tools_removal(layout, tools))
        if dry_run:
            return outcome
        run.record_before(tools, Area.LEGACY_TOOLS)
        run.require_unblocked()
        trash = Trash(layout)
        sweep_stale_temps(trash.paths.trash)
        _trash_all(run, outcome, outcome.plan.deletions, trash)
        remove_empty_folders(layout.legacy_tools)
        _require_gone(layout.legacy_tools, run)
        return outcome


# -- step 4: stale_data_removed ---------------------------------------------------------------
def _read_cleared(paths: ReorganizePaths) -> CompetitionCacheCleared | None:
    if not paths.competition_cache_cleared.exists():
        return None
    return CompetitionCacheCleared.model_validate_json(
        paths.competition_cache_cleared.read_text(encoding="utf-8")
    )


def run_stale_data_removal(
    layout: ModelRepoLayout, *, dry_run: bool = False, log: StepLog | None = None
) -> StepOutcome:
    """Trash the old competition_cache/ contents (once, before the competition assets write
    the new ones), and percepiano_pianoteq_rendered/ only if muq_embeddings.pt loads."""
    with _step(layout, Step.STALE_DATA_REMOVED, dry_run, log) as run:
        cleared = _read_cleared(run.paths)
        known = run.inventory.known()
        competition = scan(layout.root, layout.competition_cache, known)
        if cleared is not None:
            # Cleared once: only files of the 'before' inventory are old (a restore may have
            # put them back); anything else there is new and stays.
            old = {(r.path, r.sha256) for r in run.inventory.records([Area.OLD_COMPETITION_CACHE])}
            competition = Scan(
                tuple(e for e in competition.entries if (e.path, e.sha256) in old), ()
            )
        pianoteq = scan(layout.root, layout.stale_pianoteq, known)
        plan, embeddings_summary = plan_stale_data_removal(layout, competition, pianoteq, cleared)
        outcome = run.begin(plan)
        outcome.details["percepiano embeddings"] = embeddings_summary
        if dry_run:
            return outcome
        run.record_before(competition, Area.OLD_COMPETITION_CACHE)
        run.record_before(pianoteq, Area.STALE_PIANOTEQ)
        trash = Trash(layout)
        sweep_stale_temps(trash.paths.trash)
        competition_paths = {entry.path for entry in competition.entries}
        # The competition part has no precondition: it goes first, whatever happens next.
        first = [d for d in plan.deletions if d.path in competition_paths]
        _trash_all(run, outcome, first, trash)
        _remove_empty_old_folders(run, layout.competition_cache)
        if cleared is None:
            marker = CompetitionCacheCleared(files=len(first), bytes=sum(d.size for d in first))
            atomic_write_text(run.paths.competition_cache_cleared, marker.model_dump_json() + "\n")
            run.journal.record(
                run.step,
                "cleared",
                layout.competition_cache.relative_to(layout.root).as_posix(),
                f"{marker.files} files",
            )
        run.require_unblocked()
        _trash_all(
            run, outcome, [d for d in plan.deletions if d.path not in competition_paths], trash
        )
        remove_empty_folders(layout.stale_pianoteq)
        _require_gone(layout.stale_pianoteq, run)
        return outcome


def _remove_empty_old_folders(run: _Run, top: Path) -> None:
    """Remove the old cache's folders that are empty now (never `top`, never a new folder)."""
    old = set(run.folders.seen_in([Area.OLD_COMPETITION_CACHE]))
    for relative in sorted(old, key=lambda p: -p.count("/")):
        folder = run.root / relative
        if folder != top and folder.is_dir() and not folder.is_symlink():
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty


# -- step 5: superseded_plans_removed ---------------------------------------------------------
def run_superseded_plans_removal(
    layout: ModelRepoLayout, *, dry_run: bool = False, log: StepLog | None = None
) -> StepOutcome:
    with _step(layout, Step.SUPERSEDED_PLANS_REMOVED, dry_run, log) as run:
        plan, entries = plan_superseded_plans_removal(layout)
        outcome = run.begin(plan)
        if dry_run:
            return outcome
        run.inventory.merge(entries, Area.SUPERSEDED_PLANS)
        _trash_all(run, outcome, plan.deletions, Trash(layout))
        run.require_unblocked()  # the verified one is gone; say why the other stays
        return outcome


# -- the whole group --------------------------------------------------------------------------
StepRunner = Callable[..., StepOutcome]
STEP_RUNNERS: dict[Step, StepRunner] = {
    Step.PIPELINE_CODE: run_pipeline_code,
    Step.PIPELINE_DATA: run_pipeline_data,
    Step.LEGACY_TOOLS_REMOVED: run_legacy_tools_removal,
    Step.STALE_DATA_REMOVED: run_stale_data_removal,
    Step.SUPERSEDED_PLANS_REMOVED: run_superseded_plans_removal,
}


def run_all(
    layout: ModelRepoLayout, *, dry_run: bool = False, log: StepLog | None = None
) -> list[StepOutcome]:
    """Every step in the order of the asset graph; legacy_tools_removed only after both moves
    succeeded. Raises after the others ran if any step failed."""
    outcomes: list[StepOutcome] = []
    errors: list[str] = []
    for step, runner in STEP_RUNNERS.items():
        if step is Step.LEGACY_TOOLS_REMOVED and errors:
            errors.append(f"{step}: skipped, the moves failed")
            continue
        try:
            outcomes.append(runner(layout, dry_run=dry_run, log=log))
        except ReorganizeError as err:
            errors.append(f"{step}: {err}")
    if errors:
        raise ReorganizeError("\n".join(errors))
    return outcomes
