"""Planning the reorganization: read-only and Dagster-free.

Nothing here writes. It inventories files (size and sha256), applies the user's move mapping
(docs/target-layout.md), plans deletions with the evidence that each loses nothing, finds the plan
documents that supersede the 2026-02-15 ones, and rewrites (in memory) the pipeline's default
data directory. `ops` executes what these functions plan.

The mapping, for every file under `tools/`:
    tools/masterclass-pipeline/data/<rest>    -> model/data/masterclass_pipeline/<rest>
    tools/masterclass-pipeline/target/<rest>  -> trash (cargo build output, regenerable)
    tools/masterclass-pipeline/<rest>         -> model/tools/masterclass-pipeline/<rest>
        (src/, Cargo.toml, .claude/ as the user named them; other crate files such as
        Cargo.lock move with the code)
    anything else under tools/                -> not mapped: blocks the removal of tools/
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from piano_assets.engine.files import sha256_file
from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize.git import commit_state
from piano_assets.reorganize.records import (
    CompetitionCacheCleared,
    Deletion,
    EntryKind,
    FileEntry,
    Move,
    Rewrite,
    Step,
    StepPlan,
)

PIPELINE_NAME = "masterclass-pipeline"
# The user's mapping names these; other crate files ride along with the code.
PIPELINE_CODE_NAMED: tuple[str, ...] = ("src", "Cargo.toml", ".claude")
PIPELINE_DATA_NAMED: tuple[str, ...] = (
    "sources.yaml",
    "videos.jsonl",
    "audio",
    "transcripts",
    "segments",
    "teaching_moments",
    "state",
)
PIPELINE_DATA_FILES: tuple[str, ...] = ("sources.yaml", "videos.jsonl")
BUILD_OUTPUT_DIR = "target"
# How the pipeline names its data folder before the move (relative to where it runs).
OLD_DATA_DIR_LITERALS: tuple[str, ...] = ('"./data"', '"./data/"')

_PLAN_DOC = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})-(?P<topic>.+)-(?P<kind>design|implementation)\.md$"
)


class UnsupportedEntryError(ValueError):
    """A FIFO, socket or device where only files, folders and symlinks are expected."""


# -- inventory --------------------------------------------------------------------------------
def entry_sha256(path: Path, kind: EntryKind) -> str:
    """Content hash of a file; for a symlink, the hash of its target text (never followed)."""
    if kind == "symlink":
        return hashlib.sha256(os.fsencode(os.readlink(path))).hexdigest()
    return sha256_file(path)


def entry_kind(path: Path) -> EntryKind | None:
    """'file', 'symlink', or None when nothing is there."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{path} is a folder where a file is expected")
    raise UnsupportedEntryError(f"{path} is neither a file nor a symlink (FIFO, socket, device)")


def describe(root: Path, path: Path, known: Mapping[str, FileEntry] | None = None) -> FileEntry:
    """Size and sha256 of one file or symlink. A `known` entry with the same kind, size and
    mtime is trusted instead of re-reading the file (as git trusts its index)."""
    relative = path.relative_to(root).as_posix()
    info = os.lstat(path)
    kind: EntryKind = "symlink" if stat.S_ISLNK(info.st_mode) else "file"
    if kind == "file" and not stat.S_ISREG(info.st_mode):
        raise UnsupportedEntryError(
            f"{path} is neither a file, a folder nor a symlink (a FIFO, socket or device): "
            "move it out of the way and re-run"
        )
    size = len(os.fsencode(os.readlink(path))) if kind == "symlink" else info.st_size
    previous = (known or {}).get(relative)
    if (
        previous is not None
        and previous.kind == kind
        and previous.size == size
        and previous.mtime_ns == info.st_mtime_ns
    ):
        return previous
    return FileEntry(
        path=relative,
        kind=kind,
        size=size,
        sha256=entry_sha256(path, kind),
        mtime_ns=info.st_mtime_ns,
    )


@dataclass(frozen=True)
class Scan:
    """Files (and symlinks) and folders under one path, sorted; paths relative to the root."""

    entries: tuple[FileEntry, ...]
    directories: tuple[str, ...]

    @property
    def bytes(self) -> int:
        return sum(entry.size for entry in self.entries)


def scan(
    root: Path,
    top: Path,
    known: Mapping[str, FileEntry] | None = None,
    exclude: Collection[Path] = (),
) -> Scan:
    """Inventory `top` (a folder or a single file), skipping the folders in `exclude`.
    An absent `top` gives an empty scan."""
    if not top.exists() and not top.is_symlink():
        return Scan((), ())
    if top.is_symlink() or top.is_file():
        return Scan((describe(root, top, known),), ())
    entries: list[FileEntry] = []
    directories: list[str] = [top.relative_to(root).as_posix()]
    for current, folder_names, file_names in os.walk(top, followlinks=False):
        here = Path(current)
        for name in list(folder_names):
            folder = here / name
            if folder in exclude:
                folder_names.remove(name)
            elif folder.is_symlink():  # a symlink to a folder is moved as a link, not entered
                folder_names.remove(name)
                entries.append(describe(root, folder, known))
            else:
                directories.append(folder.relative_to(root).as_posix())
        entries.extend(describe(root, here / name, known) for name in file_names)
    return Scan(tuple(sorted(entries, key=lambda entry: entry.path)), tuple(sorted(directories)))


# -- the move mapping -------------------------------------------------------------------------
class ToolsPart(StrEnum):
    CODE = "code"
    DATA = "data"
    BUILD_OUTPUT = "build_output"
    UNMAPPED = "unmapped"


@dataclass(frozen=True)
class Mapped:
    part: ToolsPart
    destination: str | None  # relative to the root; None for build output and unmapped
    rule: str


def _relative(layout: ModelRepoLayout, path: Path) -> str:
    return path.relative_to(layout.root).as_posix()


def map_tools_path(layout: ModelRepoLayout, relative: str) -> Mapped:
    """Where the file `relative` (under `tools/`) goes, by the user's mapping."""
    pipeline = _relative(layout, layout.legacy_pipeline)
    pure = PurePosixPath(relative)
    try:
        inside = pure.relative_to(pipeline)
    except ValueError:
        return Mapped(ToolsPart.UNMAPPED, None, "not covered by the mapping")
    parts = inside.parts
    if not parts:
        return Mapped(ToolsPart.UNMAPPED, None, f"a file named {PIPELINE_NAME!r}, not a crate")
    if len(parts) == 1 and parts[0] in ("data", BUILD_OUTPUT_DIR):
        return Mapped(ToolsPart.UNMAPPED, None, f"a file named {parts[0]!r}, not a folder")
    if parts[0] == "data":
        destination = layout.pipeline_data.joinpath(*parts[1:])
        rule = f"data/{parts[1]}" if parts[1] in PIPELINE_DATA_NAMED else "data/* (not named)"
        return Mapped(ToolsPart.DATA, _relative(layout, destination), rule)
    if parts[0] == BUILD_OUTPUT_DIR:
        return Mapped(ToolsPart.BUILD_OUTPUT, None, "cargo build output (regenerable)")
    destination = layout.pipeline.joinpath(*parts)
    rule = parts[0] if parts[0] in PIPELINE_CODE_NAMED else "crate file (moves with the code)"
    return Mapped(ToolsPart.CODE, _relative(layout, destination), rule)


def plan_moves(layout: ModelRepoLayout, tools: Scan, part: ToolsPart) -> tuple[Move, ...]:
    moves: list[Move] = []
    for entry in tools.entries:
        mapped = map_tools_path(layout, entry.path)
        if mapped.part is part and mapped.destination is not None:
            moves.append(
                Move(
                    source=entry.path,
                    destination=mapped.destination,
                    kind=entry.kind,
                    size=entry.size,
                    sha256=entry.sha256,
                    rule=mapped.rule,
                )
            )
    return tuple(moves)


def plan_directories(layout: ModelRepoLayout, tools: Scan, part: ToolsPart) -> tuple[str, ...]:
    """Destination folders of `part`, so that empty source folders arrive too."""
    pipeline = PurePosixPath(_relative(layout, layout.legacy_pipeline))
    top = pipeline / ("data" if part is ToolsPart.DATA else "")
    base = layout.pipeline_data if part is ToolsPart.DATA else layout.pipeline
    folders: list[str] = []
    for directory in tools.directories:
        pure = PurePosixPath(directory)
        if pure != top and top not in pure.parents:
            continue
        inside = pure.relative_to(top).parts
        if part is ToolsPart.CODE and inside and inside[0] in ("data", BUILD_OUTPUT_DIR):
            continue
        folders.append(_relative(layout, base.joinpath(*inside)))
    return tuple(sorted(folders))


# -- the default data directory ---------------------------------------------------------------
def new_data_dir_literal(layout: ModelRepoLayout) -> str:
    """The new default, relative to the crate folder as `./data` was."""
    relative = os.path.relpath(layout.pipeline_data, layout.pipeline)
    return '"' + PurePosixPath(*Path(relative).parts).as_posix() + '"'


@dataclass(frozen=True)
class RewriteSearch:
    rewrite: Rewrite | None = None
    rewritten_text: bytes | None = None
    already_done: bool = False
    problem: str | None = None


def apply_rewrite(text: bytes, old: str, new: str) -> bytes:
    """Replace the one occurrence of `old` by `new`; refuse when there is not exactly one."""
    count = text.count(old.encode())
    if count != 1:
        raise ValueError(f"expected one {old} in the source, found {count}")
    return text.replace(old.encode(), new.encode())


def plan_default_data_dir_rewrite(sources: Mapping[str, bytes], new_literal: str) -> RewriteSearch:
    """Find the one string literal that names the old default data dir in the crate's Rust
    files (`sources`: destination path -> original bytes) and plan its replacement."""
    hits: list[tuple[str, int, str]] = []
    for path, text in sorted(sources.items()):
        for number, line in enumerate(text.decode("utf-8", "replace").splitlines(), start=1):
            hits.extend(
                (path, number, literal) for literal in OLD_DATA_DIR_LITERALS if literal in line
            )
    if len(hits) == 1:
        path, number, literal = hits[0]
        try:
            rewritten = apply_rewrite(sources[path], literal, new_literal)
        except ValueError as err:
            return RewriteSearch(problem=f"{path}: {err}")
        rewrite = Rewrite(
            path=path,
            line=number,
            old=literal,
            new=new_literal,
            original_sha256=hashlib.sha256(sources[path]).hexdigest(),
            rewritten_sha256=hashlib.sha256(rewritten).hexdigest(),
        )
        return RewriteSearch(rewrite=rewrite, rewritten_text=rewritten)
    if not hits:
        if any(new_literal.encode() in text for text in sources.values()):
            return RewriteSearch(already_done=True)
        return RewriteSearch(
            problem=(
                "no default data directory found in the pipeline's Rust sources (looked for "
                f"the literal {' or '.join(OLD_DATA_DIR_LITERALS)}); set the default to "
                f"{new_literal} by hand and re-run"
            )
        )
    where = ", ".join(f"{path}:{number} {literal}" for path, number, literal in hits)
    return RewriteSearch(
        problem=f"the old data directory literal appears {len(hits)} times ({where}); "
        f"expected one. Point the default at {new_literal} by hand and re-run"
    )


def rust_sources(layout: ModelRepoLayout, moves: Sequence[Move]) -> dict[str, bytes]:
    """Original bytes of the crate's Rust files, by destination path. From the moves' sources
    while `tools/` exists, else from the destination (a later re-run)."""
    src_prefix = _relative(layout, layout.pipeline / "src") + "/"
    sources = {
        move.destination: (layout.root / move.source).read_bytes()
        for move in moves
        if move.kind == "file"
        and move.destination.startswith(src_prefix)
        and move.destination.endswith(".rs")
    }
    if moves:
        return sources
    src = layout.pipeline / "src"
    if not src.is_dir():
        return {}
    return {
        _relative(layout, path): path.read_bytes()
        for path in sorted(src.rglob("*.rs"))
        if path.is_file() and not path.is_symlink()
    }


# -- verifying arrivals before tools/ goes ----------------------------------------------------
@dataclass(frozen=True)
class ArrivalCheck:
    deletions: tuple[Deletion, ...]
    problems: tuple[str, ...]


def verify_arrivals(
    layout: ModelRepoLayout,
    tools: Scan,
    rewrites: Sequence[Rewrite],
) -> ArrivalCheck:
    """Every file under `tools/` must have arrived hash-equal (rewritten files: in their
    rewritten form, from the same original) or be build output. Reads every destination.
    Each file gets a deletion; `verified_by` is empty where a problem says why it may not go."""
    by_destination = {rewrite.path: rewrite for rewrite in rewrites}
    deletions: list[Deletion] = []
    problems: list[str] = []
    for entry in tools.entries:
        mapped = map_tools_path(layout, entry.path)
        if mapped.part is ToolsPart.UNMAPPED:
            problems.append(
                f"{entry.path} is not covered by the move mapping ({mapped.rule}); "
                "move or delete it yourself, then re-run"
            )
            deletions.append(_deletion(entry, "not covered by the mapping"))
            continue
        if mapped.part is ToolsPart.BUILD_OUTPUT or mapped.destination is None:
            deletions.append(_deletion(entry, "cargo build output", "regenerable with cargo build"))
            continue
        evidence, problem = _arrival(layout, entry, mapped, by_destination.get(mapped.destination))
        reason = "destination not verified" if problem else evidence[0]
        deletions.append(_deletion(entry, reason, evidence[1]))
        if problem:
            problems.append(problem)
    return ArrivalCheck(tuple(deletions), tuple(problems))


def _arrival(
    layout: ModelRepoLayout, entry: FileEntry, mapped: Mapped, rewrite: Rewrite | None
) -> tuple[tuple[str, str], str | None]:
    """((reason, evidence), None) when `entry` arrived, else (("", ""), problem)."""
    destination_rel = mapped.destination or ""
    destination = layout.root / destination_rel
    step = Step.PIPELINE_CODE if mapped.part is ToolsPart.CODE else Step.PIPELINE_DATA
    kind = entry_kind(destination)
    if kind is None:
        return ("", ""), f"{destination_rel} is missing (from {entry.path}); materialize {step}"
    arrived = entry_sha256(destination, kind) if kind == entry.kind else f"a {kind}"
    if rewrite is None and arrived == entry.sha256:
        return ("moved", f"{destination_rel} has the same sha256"), None
    if rewrite is not None and rewrite.original_sha256 == entry.sha256:
        if arrived == rewrite.rewritten_sha256:
            evidence = f"{destination_rel} is this file with {rewrite.old} -> {rewrite.new}"
            return ("moved (default data dir rewritten)", evidence), None
        if arrived == entry.sha256:
            return ("", ""), (
                f"{destination_rel} still names the old data directory; "
                f"materialize {Step.PIPELINE_CODE}"
            )
    return ("", ""), (
        f"{destination_rel} differs from {entry.path} "
        f"(sha256 {arrived[:12]} vs {entry.sha256[:12]}); re-materialize {step}, "
        "which names the conflict"
    )


def _deletion(entry: FileEntry, reason: str, verified_by: str = "") -> Deletion:
    return Deletion(
        path=entry.path,
        kind=entry.kind,
        size=entry.size,
        sha256=entry.sha256,
        reason=reason,
        verified_by=verified_by,
    )


def deletions_for(
    entries: Iterable[FileEntry], reason: str, verified_by: str
) -> tuple[Deletion, ...]:
    return tuple(_deletion(entry, reason, verified_by) for entry in entries)


# -- superseded plan documents ----------------------------------------------------------------
@dataclass(frozen=True)
class PlanDoc:
    name: str
    date: str
    topic: str
    kind: str


def parse_plan_doc(name: str) -> PlanDoc | None:
    match = _PLAN_DOC.match(name)
    if match is None:
        return None
    return PlanDoc(name, match["date"], match["topic"], match["kind"])


def superseding_candidates(old_name: str, names: Iterable[str]) -> list[str]:
    """Plan documents of the same kind (design / implementation), dated later than `old_name`."""
    old = parse_plan_doc(old_name)
    if old is None:
        raise ValueError(f"{old_name} is not named YYYY-MM-DD-<topic>-(design|implementation).md")
    newer = [
        doc.name
        for doc in (parse_plan_doc(name) for name in names)
        if doc is not None and doc.kind == old.kind and doc.date > old.date
    ]
    return sorted(newer)


# -- human-readable sizes ---------------------------------------------------------------------
def format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns


# -- the embeddings that make the Pianoteq renderings stale -----------------------------------
@dataclass(frozen=True)
class EmbeddingsCheck:
    ok: bool
    summary: str  # what loaded, or why it did not


def _tensors(value: object, prefix: str = "") -> list[tuple[str, tuple[int, ...]]]:
    import torch

    if isinstance(value, torch.Tensor):
        return [(prefix or "<tensor>", tuple(value.shape))]
    found: list[tuple[str, tuple[int, ...]]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            found.extend(_tensors(item, f"{prefix}{key}/" if prefix else f"{key}/"))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(_tensors(item, f"{prefix}{index}/"))
    return [(name.rstrip("/"), shape) for name, shape in found]


def inspect_embeddings(path: Path) -> EmbeddingsCheck:
    """Does `path` exist and load with `torch.load(weights_only=True)`, holding tensors?"""
    if not path.is_file():
        return EmbeddingsCheck(False, f"{path} does not exist")
    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any failure to load means: not usable
        return EmbeddingsCheck(
            False, f"{path} does not load with weights_only=True: {type(err).__name__}: {err}"
        )
    tensors = _tensors(loaded)
    if not tensors:
        return EmbeddingsCheck(False, f"{path} loads but holds no tensors")
    name, shape = tensors[0]
    return EmbeddingsCheck(
        True, f"{len(tensors)} tensors, e.g. {name} {list(shape)} ({type(loaded).__name__})"
    )


# -- the plan of each step (ops executes them) ----------------------------------------------
def scan_pipeline_code(layout: ModelRepoLayout, known: dict[str, FileEntry] | None) -> Scan:
    exclude = (layout.legacy_pipeline_data, layout.legacy_pipeline / BUILD_OUTPUT_DIR)
    return scan(layout.root, layout.legacy_tools, known, exclude=exclude)


def _rewrite_search(layout: ModelRepoLayout, moves: Sequence[Move]) -> RewriteSearch:
    return plan_default_data_dir_rewrite(rust_sources(layout, moves), new_data_dir_literal(layout))


def _unmapped(layout: ModelRepoLayout, tools: Scan) -> list[str]:
    return [
        entry.path
        for entry in tools.entries
        if map_tools_path(layout, entry.path).part is ToolsPart.UNMAPPED
    ]


def plan_pipeline_code(layout: ModelRepoLayout, tools: Scan) -> tuple[StepPlan, RewriteSearch]:
    moves = plan_moves(layout, tools, ToolsPart.CODE)
    blockers: list[str] = []
    notes: list[str] = []
    has_destination = layout.pipeline.is_dir()
    if not moves and not has_destination:
        blockers.append(
            f"no masterclass pipeline at {layout.legacy_pipeline} nor at {layout.pipeline}"
        )
    elif not moves:
        notes.append(f"nothing left to move: the code is at {layout.pipeline}")
    search = _rewrite_search(layout, moves)
    if search.problem and (moves or has_destination):
        blockers.append(search.problem)
    if search.already_done:
        notes.append("the default data directory already points at the new data folder")
    unmapped = _unmapped(layout, tools)
    if unmapped:
        notes.append(
            f"{len(unmapped)} file(s) under tools/ are not covered by the mapping and will "
            f"block legacy_tools_removed: {unmapped[:10]}"
        )
    plan = StepPlan(
        step=Step.PIPELINE_CODE,
        moves=moves,
        rewrites=(search.rewrite,) if search.rewrite else (),
        directories=plan_directories(layout, tools, ToolsPart.CODE),
        blockers=tuple(blockers),
        notes=tuple(notes),
    )
    return plan, search


def plan_pipeline_data(layout: ModelRepoLayout, tools: Scan) -> StepPlan:
    moves = plan_moves(layout, tools, ToolsPart.DATA)
    blockers: list[str] = []
    notes: list[str] = []
    source = layout.legacy_pipeline_data
    if not source.is_dir() and not layout.pipeline_data.is_dir():
        blockers.append(f"no pipeline data at {source} nor at {layout.pipeline_data}")
    elif not source.is_dir():
        notes.append(f"nothing left to move: the data is at {layout.pipeline_data}")
    else:
        missing = [name for name in PIPELINE_DATA_NAMED if not (source / name).exists()]
        if missing:
            notes.append(f"{source} has no {', '.join(missing)} (named by the mapping)")
    return StepPlan(
        step=Step.PIPELINE_DATA,
        moves=moves,
        directories=plan_directories(layout, tools, ToolsPart.DATA),
        blockers=tuple(blockers),
        notes=tuple(notes),
    )


def plan_legacy_tools_removal(layout: ModelRepoLayout, tools: Scan) -> StepPlan:
    """Delete every file under tools/ once it is verified at its destination (reads them all)."""
    if not tools.entries and not layout.legacy_tools.exists():
        return StepPlan(step=Step.LEGACY_TOOLS_REMOVED, notes=("tools/ is already gone",))
    code_moves = plan_moves(layout, tools, ToolsPart.CODE)
    search = _rewrite_search(layout, code_moves)
    problems: list[str] = []
    if search.problem and code_moves:
        problems.append(search.problem)
    check = verify_arrivals(layout, tools, (search.rewrite,) if search.rewrite else ())
    return StepPlan(
        step=Step.LEGACY_TOOLS_REMOVED,
        deletions=check.deletions,
        blockers=(*problems, *check.problems),
    )


def plan_stale_data_removal(
    layout: ModelRepoLayout,
    competition: Scan,
    pianoteq: Scan,
    cleared: CompetitionCacheCleared | None,
) -> tuple[StepPlan, str]:
    notes: list[str] = []
    blockers: list[str] = []
    deletions: list[Deletion] = []
    competition_rel = layout.competition_cache.relative_to(layout.root).as_posix()
    if cleared is not None:
        notes.append(
            f"old {competition_rel}/ contents were cleared at {cleared.at.isoformat()}; "
            "only files of the 'before' inventory are old there, the rest is new and is left "
            "alone"
        )
        deletions.extend(
            deletions_for(
                competition.entries,
                "old competition_cache file back again (a restore), cleared once before",
                "listed in the 'before' inventory of the old competition_cache",
            )
        )
    else:
        deletions.extend(
            deletions_for(
                competition.entries,
                "old competition_cache contents (rebuilt by the competition assets)",
                "stale by the design (docs/target-layout.md)",
            )
        )
    embeddings = inspect_embeddings(layout.percepiano_embeddings)
    embeddings_rel = layout.percepiano_embeddings.relative_to(layout.root).as_posix()
    if pianoteq.entries or layout.stale_pianoteq.exists():
        if embeddings.ok:
            deletions.extend(
                deletions_for(
                    pianoteq.entries,
                    "stale Pianoteq rendering",
                    f"{embeddings_rel} loads with weights_only=True ({embeddings.summary})",
                )
            )
        else:
            blockers.append(f"keeping {layout.stale_pianoteq}: {embeddings.summary}")
    else:
        notes.append(f"{layout.stale_pianoteq} is already gone")
    plan = StepPlan(
        step=Step.STALE_DATA_REMOVED,
        deletions=tuple(deletions),
        blockers=tuple(blockers),
        notes=tuple(notes),
    )
    return plan, embeddings.summary


def plan_superseded_plans_removal(layout: ModelRepoLayout) -> tuple[StepPlan, list[FileEntry]]:
    root = layout.root
    existing = [path for path in layout.superseded_plans if path.is_file()]
    if not existing:
        return StepPlan(step=Step.SUPERSEDED_PLANS_REMOVED, notes=("already removed",)), []
    names = sorted(p.name for p in layout.plans_dir.iterdir() if p.is_file())
    deletions: list[Deletion] = []
    blockers: list[str] = []
    entries: list[FileEntry] = []
    for old in existing:
        entry = scan(root, old).entries[0]
        entries.append(entry)
        states = [
            commit_state(root, (layout.plans_dir / name).relative_to(root).as_posix())
            for name in superseding_candidates(old.name, names)
        ]
        committed = [state for state in states if state.committed]
        if committed:
            deletions.extend(
                deletions_for(
                    [entry],
                    "superseded plan document",
                    "superseded by "
                    + ", ".join(f"{state.path} ({state.describe()})" for state in committed),
                )
            )
        else:
            found = ", ".join(f"{s.path} ({s.describe()})" for s in states) or "none"
            blockers.append(
                f"keeping {entry.path}: no newer plan of its kind is committed (found: {found}); "
                "commit the plan that supersedes it, then re-run"
            )
    plan = StepPlan(
        step=Step.SUPERSEDED_PLANS_REMOVED, deletions=tuple(deletions), blockers=tuple(blockers)
    )
    return plan, entries
