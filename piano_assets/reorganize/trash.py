"""The recoverable trash inside the model repo: `<root>/.piano_assets/trash/`. Dagster-free.

Deleting a file appends a `TrashedRecord` to `trash/manifest.jsonl` naming where it goes,
then moves it to `trash/<step>/<original path>` (a rename; across filesystems a
hash-verified copy, then the original goes). Each stage is idempotent and the manifest is
written ahead, so a crash between any two of them is finished by the next call: a record
whose trash file is missing is an intent the next run carries out.

`purge_trash` deletes for good, and only when asked; `restore_trash` puts files back.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter

from piano_assets.engine.files import fsync_dir
from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize.errors import ReorganizeError, TrashError
from piano_assets.reorganize.ledger import append_records, read_records
from piano_assets.reorganize.lock import reorganize_lock
from piano_assets.reorganize.paths import ReorganizePaths
from piano_assets.reorganize.plan import entry_kind, entry_sha256
from piano_assets.reorganize.records import (
    EntryKind,
    ManifestRecord,
    PurgedRecord,
    RestoredRecord,
    TrashedRecord,
)
from piano_assets.reorganize.transfer import copy_verified, replace_contents

_MANIFEST = TypeAdapter(ManifestRecord)


def remove_empty_folders(top: Path, *, keep_top: bool = False) -> None:
    """Remove `top`'s empty folders, deepest first (and `top` itself unless `keep_top`)."""
    if not top.is_dir() or top.is_symlink():
        return
    for current, _folders, _files in sorted(os.walk(top), key=lambda item: -len(item[0])):
        path = Path(current)
        if path == top and keep_top:
            continue
        try:
            path.rmdir()
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                raise


@dataclass
class _Ledger:
    trashed: list[TrashedRecord] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)  # trash paths purged or restored
    purged: set[str] = field(default_factory=set)
    by_original: dict[tuple[str, str], list[TrashedRecord]] = field(default_factory=dict)

    def add(self, record: TrashedRecord) -> None:
        self.trashed.append(record)
        self.gone.discard(record.trash_path)
        self.by_original.setdefault((record.original_path, record.sha256), []).append(record)

    def live(self) -> Iterator[TrashedRecord]:
        return (record for record in self.trashed if record.trash_path not in self.gone)


class Trash:
    """The trash of one model repo; reads its manifest once, then keeps it up to date."""

    def __init__(self, layout: ModelRepoLayout) -> None:
        self.paths = ReorganizePaths(layout)
        self._ledger = self._read()

    def _read(self) -> _Ledger:
        ledger = _Ledger()
        for read in read_records(self.paths.manifest, _MANIFEST):
            record = self.paths.relative_record(read)  # older manifests: absolute paths
            if isinstance(record, TrashedRecord):
                ledger.add(record)
                ledger.purged.discard(record.trash_path)
            else:
                ledger.gone.add(record.trash_path)
                if isinstance(record, PurgedRecord):
                    ledger.purged.add(record.trash_path)
        return ledger

    # -- queries ------------------------------------------------------------------------
    def live_records(self) -> list[TrashedRecord]:
        """Entries not purged or restored. A crash can leave an entry whose file never got
        there (the manifest is written first): check the trash path before relying on it."""
        return list(self._ledger.live())

    def all_records(self) -> list[TrashedRecord]:
        return list(self._ledger.trashed)

    def purged_paths(self) -> set[str]:
        """Trash paths whose file was deleted for good."""
        return set(self._ledger.purged)

    def gone_paths(self) -> set[str]:
        """Trash paths no longer in the trash: purged or restored."""
        return set(self._ledger.gone)

    def find(self, original: str, sha256: str) -> TrashedRecord | None:
        for record in self._ledger.by_original.get((original, sha256), []):
            if record.trash_path not in self._ledger.gone:
                return record
        return None

    def _holds(self, trash_path: str, sha256: str) -> bool:
        path = self.paths.absolute(trash_path)
        kind = entry_kind(path)
        return kind is not None and entry_sha256(path, kind) == sha256

    def _candidates(self, step: str, original: str, sha256: str) -> list[str]:
        base = self.paths.relative(self.paths.trash)
        return [f"{base}/{step}/{original}", f"{base}/{step}~{sha256[:12]}/{original}"]

    def _remember(self, record: TrashedRecord) -> None:
        append_records(self.paths.manifest, [record])
        self._ledger.add(record)

    # -- putting files in ---------------------------------------------------------------
    def put(
        self,
        original: str,
        *,
        step: str,
        reason: str,
        kind: EntryKind,
        sha256: str,
        size: int,
        keep_original: bool = False,
    ) -> bool:
        """Move the file `original` (relative to the root) to the trash; with `keep_original`,
        put a copy there instead. Returns False when that was already done.

        The manifest names the trash path *before* the file goes there (write-ahead), so
        whatever a crash interrupts, a re-run knows where the file went or was going."""
        source = self.paths.absolute(original)
        record = self.find(original, sha256)
        if record is not None and self._holds(record.trash_path, sha256):
            if not keep_original:
                self._unlink_if(source, kind, sha256)
            return False
        present = entry_kind(source)
        if present is None:
            raise TrashError(f"{source} vanished before it reached the trash; nothing to delete")
        actual = entry_sha256(source, present) if present == kind else f"a {present}"
        if actual != sha256:
            raise TrashError(
                f"{source} changed since it was planned for deletion "
                f"(sha256 {actual[:12]}, planned {sha256[:12]}); re-run to plan it again"
            )
        if record is not None and entry_kind(self.paths.absolute(record.trash_path)) is None:
            target = self.paths.absolute(record.trash_path)  # the intent of an interrupted run
        else:
            target = self._free_target(step, original, sha256)
            self._remember(
                self._record(
                    step, original, self.paths.relative(target), kind, sha256, size, reason
                )
            )
        self._place(source, target, kind=kind, sha256=sha256, keep_original=keep_original)
        if not keep_original:
            self._unlink_if(source, kind, sha256)
        return True

    def _record(
        self,
        step: str,
        original: str,
        trash_path: str,
        kind: EntryKind,
        sha256: str,
        size: int,
        reason: str,
    ) -> TrashedRecord:
        return TrashedRecord(
            step=step,
            original_path=original,
            trash_path=trash_path,
            kind=kind,
            size=size,
            sha256=sha256,
            reason=reason,
        )

    def _free_target(self, step: str, original: str, sha256: str) -> Path:
        """The first trash path that is free."""
        for candidate in self._candidates(step, original, sha256):
            path = self.paths.absolute(candidate)
            if entry_kind(path) is None:
                return path
        raise TrashError(
            f"no free trash path for {original}: {self._candidates(step, original, sha256)} "
            "hold other files; purge or restore them first"
        )

    def _place(
        self, source: Path, target: Path, *, kind: EntryKind, sha256: str, keep_original: bool
    ) -> None:
        if entry_kind(target) is not None:
            raise TrashError(f"{target} is taken; refusing to put {source} over it")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not keep_original:
            try:
                os.rename(source, target)  # target checked free above; we hold the step lock
                fsync_dir(target.parent)
                fsync_dir(source.parent)
                return
            except OSError as err:
                if err.errno != errno.EXDEV:
                    raise
        # Across filesystems (or keeping the original): verified copy first.
        copy_verified(source, target, kind=kind, sha256=sha256)

    def _unlink_if(self, path: Path, kind: EntryKind, sha256: str) -> None:
        present = entry_kind(path)
        if present is None:
            return
        if present == kind and entry_sha256(path, present) == sha256:
            path.unlink()
            fsync_dir(path.parent)
        # Otherwise a new file took the name since: it is not ours to delete.


# -- purge and restore ------------------------------------------------------------------------
@dataclass(frozen=True)
class TrashOutcome:
    files: int
    bytes: int
    paths: tuple[str, ...]
    copies_removed: int = 0  # restore: copies under model/ that duplicated a restored source


Logger = Callable[[str], None]


def _selected(records: list[TrashedRecord], steps: Collection[str] | None) -> list[TrashedRecord]:
    return [record for record in records if not steps or record.step in steps]


def purge_trash(
    layout: ModelRepoLayout,
    *,
    steps: Collection[str] | None = None,
    dry_run: bool = False,
    log: Logger | None = None,
) -> TrashOutcome:
    """Delete trashed files for good (all, or those of `steps`). Cannot be undone; explicit."""
    paths = ReorganizePaths(layout)
    if dry_run:
        return _purge(Trash(layout), steps, dry_run=True, log=log)
    with reorganize_lock(paths):
        return _purge(Trash(layout), steps, dry_run=False, log=log)


def _purge(
    trash: Trash, steps: Collection[str] | None, *, dry_run: bool, log: Logger | None
) -> TrashOutcome:
    # Only what is in the trash: a record whose file never arrived (an interrupted run's
    # intent) is left for that step's next run to carry out.
    chosen = [
        record
        for record in _selected(trash.live_records(), steps)
        if entry_kind(trash.paths.absolute(record.trash_path)) is not None
    ]
    if dry_run:
        return TrashOutcome(
            len(chosen), sum(r.size for r in chosen), tuple(r.trash_path for r in chosen)
        )
    for record in chosen:
        trash.paths.absolute(record.trash_path).unlink()
        append_records(
            trash.paths.manifest,
            [PurgedRecord(trash_path=record.trash_path, sha256=record.sha256, size=record.size)],
        )
        if log:
            log(f"purged {record.trash_path}")
    for child in trash.paths.trash.iterdir() if trash.paths.trash.is_dir() else ():
        if child.is_dir():
            remove_empty_folders(child)
    return TrashOutcome(
        len(chosen), sum(r.size for r in chosen), tuple(r.trash_path for r in chosen)
    )


def _put_back(
    source: Path, original: Path, record: TrashedRecord, replaceable: str | None = None
) -> None:
    """Move the trashed `source` back to `original`. `replaceable` is the sha256 of a file
    the platform derived from this one (the rewritten main.rs): found at `original`, it is
    replaced, since it can be derived again; any other file there is never overwritten."""
    if entry_kind(source) is None:
        kind = entry_kind(original)
        if kind is not None and entry_sha256(original, kind) == record.sha256:
            return  # a crash after the file went back but before the manifest said so
        raise TrashError(f"{source} is missing from the trash; {original} not restored")
    present = entry_kind(original)
    if (
        replaceable is not None
        and present == "file"
        and record.kind == "file"
        and entry_sha256(original, present) == replaceable
    ):
        replace_contents(original, source.read_bytes())
        if entry_sha256(original, "file") != record.sha256:
            raise TrashError(f"{original} does not hash to {record.sha256[:12]} after restoring")
        source.unlink()
        return
    if present is None:
        original.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(source, original)
            fsync_dir(original.parent)
            return
        except OSError as err:
            if err.errno != errno.EXDEV:
                raise
    # Across filesystems, or something already there: verified copy (equal is fine,
    # different raises DestinationConflictError naming both), then the trash copy goes.
    copy_verified(source, original, kind=record.kind, sha256=record.sha256)
    source.unlink()


def restore_trash(
    layout: ModelRepoLayout,
    *,
    steps: Collection[str] | None = None,
    log: Logger | None = None,
) -> TrashOutcome:
    """Undo the reorganization (all steps, or `steps`): trashed files go back where they were,
    the rewritten main.rs gets its original bytes, and copies that duplicate a restored source
    go (see `undo.restore_reorganization`). A different file at an original path is never
    overwritten: after restoring the others, `TrashError` lists each such pair."""
    from piano_assets.reorganize.undo import restore_reorganization

    return restore_reorganization(layout, steps=steps, log=log)


def restore_files(
    trash: Trash,
    steps: Collection[str] | None,
    log: Logger | None,
    replaceable: Mapping[tuple[str, str], str] | None = None,
) -> TrashOutcome:
    """Put the trashed files of `steps` back (the caller holds the lock). `replaceable`:
    (original path, sha256 of the trashed file) -> sha256 of a derived file that may be
    replaced at the original path."""
    replaceable = replaceable or {}
    chosen = _selected(trash.live_records(), steps)
    conflicts: list[str] = []
    restored: list[TrashedRecord] = []
    for record in chosen:
        source = trash.paths.absolute(record.trash_path)
        original = trash.paths.absolute(record.original_path)
        derived = replaceable.get((record.original_path, record.sha256))
        try:
            _put_back(source, original, record, derived)
        except ReorganizeError as err:
            conflicts.append(str(err))
            continue
        append_records(
            trash.paths.manifest,
            [
                RestoredRecord(
                    trash_path=record.trash_path,
                    original_path=record.original_path,
                    sha256=record.sha256,
                )
            ],
        )
        restored.append(record)
        if log:
            log(f"restored {record.original_path}")
    for child in trash.paths.trash.iterdir() if trash.paths.trash.is_dir() else ():
        if child.is_dir():
            remove_empty_folders(child)
    if conflicts:
        raise TrashError("some files were not restored:\n" + "\n".join(conflicts))
    return TrashOutcome(
        len(restored), sum(r.size for r in restored), tuple(r.original_path for r in restored)
    )
