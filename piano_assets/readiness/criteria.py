"""The user's validation list (issue #6), judged from the files in the model repo. Dagster-free.

Six gating criteria; T4 is not a gate. Each is decided from what is on disk, reusing the
groups' own verification functions (reorganize's layout findings, inventory accounting and
pipeline probe; T2's schema and completeness verdicts; T3's embedding coverage), so the report
and the groups' checks can never disagree about what "done" means.

`evaluate_readiness(layout)` returns one `CriterionResult` per criterion; `render_report` turns
them into the markdown the `readiness_report` asset shows, each criterion linked to its assets.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from piano_assets.chopin2021 import tier, validation
from piano_assets.chopin2021.catalog import CatalogError, read_catalog
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.records import RecordsError
from piano_assets.engine.store import read_provenance
from piano_assets.layout import ModelRepoLayout
from piano_assets.maestro import adapter
from piano_assets.maestro.metadata import MaestroMetadataError
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.maestro.records import PieceRow
from piano_assets.maestro.tables import validate_rows
from piano_assets.reorganize.pipeline_build import find_cargo, probe_pipeline
from piano_assets.reorganize.records import Step
from piano_assets.reorganize.verify import LayoutFinding, account_for_inventory, layout_findings

# What a pipeline probe says: an empty list means the pipeline built and ran.
PipelineProbe = Callable[[ModelRepoLayout], list[str]]


class CriterionResult(BaseModel):
    """One criterion of the validation list, as judged from disk."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=1, le=6)
    title: str
    assets: tuple[str, ...] = Field(description="Asset keys that produce what it judges.")
    passed: bool
    counts: dict[str, int] = Field(default_factory=dict)
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    embedders: dict[str, int] = Field(
        default_factory=dict,
        description="Embedder label (from each file's provenance) -> embedding files made by it.",
    )


TITLES: dict[int, str] = {
    1: "The masterclass pipeline builds and runs from its new location",
    2: "The data directories match the target layout",
    3: "T2 metadata is scraped and its MuQ embeddings are extracted",
    4: "T3 embeddings are extracted and the piece→performer map is built",
    5: "The stale data directories are removed",
    6: "The old plan documents are removed",
}
ASSETS: dict[int, tuple[str, ...]] = {
    1: (Step.PIPELINE_CODE.value,),
    2: (Step.PIPELINE_DATA.value, Step.LEGACY_TOOLS_REMOVED.value),
    3: ("chopin2021_results", "chopin2021_muq_embeddings", "chopin2021_metadata"),
    4: ("maestro_muq_embeddings", "maestro_piece_performer_map"),
    5: (Step.STALE_DATA_REMOVED.value,),
    6: (Step.SUPERSEDED_PLANS_REMOVED.value,),
}
_SHOWN = 10


def _result(
    number: int,
    problems: Sequence[str],
    counts: dict[str, int] | None = None,
    notes: Sequence[str] = (),
    embedders: dict[str, int] | None = None,
) -> CriterionResult:
    return CriterionResult(
        number=number,
        title=TITLES[number],
        assets=ASSETS[number],
        passed=not problems,
        counts=counts or {},
        problems=tuple(problems),
        notes=tuple(notes),
        embedders=embedders or {},
    )


def embedder_labels(folder: Path) -> dict[str, int]:
    """Which MuQ made the embedding files in `folder` (header reads only), so a random-weight
    model is named wherever its output is judged."""
    labels: Counter[str] = Counter()
    if folder.is_dir():
        for path in sorted(folder.glob("*.safetensors")):
            try:
                labels[read_provenance(path).get("embedder_label", "unknown embedder")] += 1
            except (OSError, ValueError, KeyError):
                labels["unreadable provenance"] += 1
    return dict(labels)


def _failed(findings: Sequence[LayoutFinding]) -> list[str]:
    return [f"{f.path}: {f.detail}" for f in findings if not f.ok]


def _files(folder: Path, pattern: str = "*") -> int:
    return sum(1 for p in folder.rglob(pattern) if p.is_file()) if folder.is_dir() else 0


def cargo_probe(layout: ModelRepoLayout) -> list[str]:
    """Build with cargo (offline) and run `status` both ways; never a silent pass."""
    cargo = find_cargo()
    if cargo is None:
        return ["NOT VERIFIED: cargo was not found (PATH, ~/.cargo/bin)"]
    try:
        return probe_pipeline(layout, cargo).problems
    except OSError as err:  # e.g. the data folder it reports on is not in place yet
        return [f"the pipeline could not be probed: {err}"]


# -- 1 ------------------------------------------------------------------------------------------
def pipeline_runs(layout: ModelRepoLayout, probe: PipelineProbe = cargo_probe) -> CriterionResult:
    findings = [f for f in layout_findings(layout) if f.step is Step.PIPELINE_CODE]
    problems = _failed(findings)
    # Building a half-moved crate says nothing new and costs minutes: probe only a whole one.
    problems += probe(layout) if not problems else ["not built: the code is not in place"]
    counts = {"source_files": _files(layout.pipeline / "src", "*.rs")}
    return _result(1, problems, counts)


# -- 2 ------------------------------------------------------------------------------------------
def layout_matches_target(layout: ModelRepoLayout) -> CriterionResult:
    findings = layout_findings(layout)
    mine = [
        f
        for f in findings
        if f.step in (Step.PIPELINE_DATA, Step.LEGACY_TOOLS_REMOVED)
        or (f.step is Step.PIPELINE_CODE and f.expected == "present")
    ]
    problems = _failed(mine)
    # The tiers' new folders (DESIGN §2); T4's youtube_piano_cache is not a gate.
    for folder in (
        layout.chopin2021,
        layout.chopin2021 / "muq_embeddings",
        layout.maestro_cache / "muq_embeddings",
    ):
        if not folder.is_dir():
            problems.append(f"{folder.relative_to(layout.root).as_posix()}: folder missing")
    # Kept folders are the user's; an absent one is worth saying but is not ours to fix.
    notes = [f"{f.path}: {f.detail}" for f in findings if f.expected == "kept" and not f.ok]
    counts = {
        "kept_folders_present": sum(1 for f in findings if f.expected == "kept" and f.ok),
        "pipeline_data_files": _files(layout.pipeline_data),
    }
    return _result(2, problems, counts, notes)


# -- 3 ------------------------------------------------------------------------------------------
def chopin2021_catalog_keys(layout: ModelRepoLayout) -> list[str]:
    """Recording keys of the catalog `chopin2021_video_catalog` last wrote ([] when none)."""
    catalog = Chopin2021Paths(layout).catalog
    return [spec.recording_id for spec in read_catalog(catalog)] if catalog.is_file() else []


def chopin2021_complete(
    layout: ModelRepoLayout, registered: Sequence[str] | None = None
) -> CriterionResult:
    """`registered`: the partitions the instance knows; default: the catalog's keys."""
    paths = Chopin2021Paths(layout)
    problems: list[str] = []
    try:
        keys = list(registered) if registered is not None else chopin2021_catalog_keys(layout)
    except (CatalogError, ValueError, OSError) as err:
        return _result(3, [f"{paths.catalog}: unreadable catalog ({err})"])
    for required in (paths.results, paths.metadata):
        if not required.is_file():
            problems.append(f"{required.relative_to(layout.root).as_posix()} is missing")
    if not problems:
        schema = validation.metadata_schema_holds(paths)
        if not schema.passed:
            problems.append(schema.description)
    try:
        complete = tier.every_recording_complete(paths, keys)
    except (RecordsError, ValueError, OSError) as err:
        complete = validation.Verdict(False, f"unreadable outputs: {err}")
    if not complete.passed:
        problems.append(complete.description)
    counts = {
        "recordings": len(keys),
        "embedding_files": _files(paths.embeddings_dir, "*.safetensors"),
        "metadata_lines": _lines(paths.metadata),
        "performers": _lines(paths.results),
    }
    return _result(3, problems, counts, embedders=embedder_labels(paths.embeddings_dir))


def _lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


# -- 4 ------------------------------------------------------------------------------------------
def maestro_complete(layout: ModelRepoLayout) -> CriterionResult:
    paths = MaestroPaths(layout)
    try:
        ids = adapter.load_recordings(paths)["recording_id"].to_list()
    except (MaestroMetadataError, OSError, pl.exceptions.PolarsError) as err:
        return _result(4, [str(err)])
    coverage = adapter.embedding_coverage(paths, ids)
    problems: list[str] = []
    missing = sorted(set(ids) - set(coverage.embedded))
    if not ids:
        problems.append(f"{paths.recordings_table}: no recordings")
    if missing:
        shown = ", ".join(missing[:_SHOWN])
        problems.append(f"{len(missing)} of {len(ids)} recordings without embeddings: {shown}")
    problems += [
        f"{rid}: unreadable embeddings ({why})" for rid, why in coverage.unreadable.items()
    ]
    pieces = 0
    if not paths.piece_map_table.is_file():
        problems.append(f"{paths.piece_map_table.relative_to(layout.root).as_posix()} is missing")
    else:
        table = pl.read_parquet(paths.piece_map_table)
        try:
            validate_rows(table, PieceRow, str(paths.piece_map_table))
        except ValueError as err:
            problems.append(str(err))
        else:
            pieces = table["piece_id"].n_unique()
            unmapped = sorted(set(ids) - set(table["recording_id"].to_list()))
            if unmapped:
                problems.append(f"{len(unmapped)} recordings not in the piece map: {unmapped[:5]}")
    counts = {
        "recordings": len(ids),
        "embedded": len(coverage.embedded),
        "segments": coverage.segments,
        "pieces": pieces,
    }
    # The coverage already read each file's provenance.
    embedders = Counter(label.label for label in coverage.labels.values())
    return _result(4, problems, counts, embedders=dict(embedders))


# -- 5 and 6 ------------------------------------------------------------------------------------
def _removal(number: int, layout: ModelRepoLayout, step: Step) -> CriterionResult:
    findings = [f for f in layout_findings(layout) if f.step is step and f.expected != "kept"]
    findings = [f for f in findings if f.expected != "observed"]
    problems = _failed(findings)
    accounting = account_for_inventory(layout, step)
    problems += [
        f"{item.record.path}: removed but neither in the trash nor anywhere else"
        for item in accounting.missing
    ]
    before_files, _ = accounting.before
    counts = {
        "expectations": len(findings),
        "files_removed_accounted": before_files - len(accounting.missing),
    }
    return _result(number, problems, counts)


def stale_data_removed(layout: ModelRepoLayout) -> CriterionResult:
    return _removal(5, layout, Step.STALE_DATA_REMOVED)


def old_plans_removed(layout: ModelRepoLayout) -> CriterionResult:
    return _removal(6, layout, Step.SUPERSEDED_PLANS_REMOVED)


# -- all ----------------------------------------------------------------------------------------
def evaluate_readiness(
    layout: ModelRepoLayout,
    *,
    chopin2021_registered: Sequence[str] | None = None,
    probe: PipelineProbe = cargo_probe,
) -> list[CriterionResult]:
    """All six criteria, in the order of the user's list."""
    return [
        pipeline_runs(layout, probe),
        layout_matches_target(layout),
        chopin2021_complete(layout, chopin2021_registered),
        maestro_complete(layout),
        stale_data_removed(layout),
        old_plans_removed(layout),
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_report(results: Sequence[CriterionResult]) -> str:
    """Markdown: a pass/fail table linked to each criterion's assets, then what is missing."""
    done = sum(r.passed for r in results)
    verdict = "COMPLETE" if done == len(results) else "NOT READY"
    lines = [f"# Readiness: {verdict} ({done}/{len(results)} criteria pass)", ""]
    embedders: Counter[str] = Counter()
    for r in results:
        embedders.update(r.embedders)
    for label, files in sorted(embedders.items()):
        warning = " **(RANDOM WEIGHTS: not for training)**" if "RANDOM-WEIGHT" in label else ""
        lines += [f"MuQ: {_cell(label)}: {files} embedding files{warning}", ""]
    lines += ["| # | criterion | status | counts | assets |", "|---|---|---|---|---|"]
    for r in results:
        counts = ", ".join(f"{name}: {value}" for name, value in r.counts.items())
        links = " ".join(f"[{key}](/assets/{key})" for key in r.assets)
        status = "PASS" if r.passed else "**FAIL**"
        lines.append(f"| {r.number} | {_cell(r.title)} | {status} | {counts} | {links} |")
    failing = [r for r in results if not r.passed]
    if failing:
        lines += ["", "## What is not passing"]
        for r in failing:
            lines.append(f"- **{r.number}. {r.title}**")
            lines += [f"  - {_cell(p)[:400]}" for p in r.problems[:_SHOWN]]
    notes = [(r, n) for r in results for n in r.notes]
    if notes:
        lines += ["", "## Notes"] + [f"- {r.number}: {_cell(n)}" for r, n in notes]
    return "\n".join(lines) + "\n"
