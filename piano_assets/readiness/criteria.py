"""The user's validation list, judged from the files in the model repo. Dagster-free.

Six gating criteria, in the user's order: 1, 2, 5 and 6 judge the reorganization (its layout
findings, inventory accounting and pipeline probe); 3 and 4 are the T2 and T3 tiers' own
verdicts, asked through their `TierGate` (readiness knows no tier internals). A tier that is
not a gate (T4) is reported for information. Each verdict reuses the groups' own verification
functions, so the report and the groups' checks never disagree about what "done" means.

`evaluate_readiness(layout, gates, registered)` returns one `CriterionResult` per criterion;
`render_report` turns them into the markdown the `readiness_report` asset shows, each criterion
linked to its assets.
"""

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from piano_assets.layout import ModelRepoLayout
from piano_assets.readiness.gate import TierGate, TierVerdict
from piano_assets.reorganize.pipeline_build import find_cargo, probe_pipeline
from piano_assets.reorganize.records import Step
from piano_assets.reorganize.verify import LayoutFinding, account_for_inventory, layout_findings

# What a pipeline probe says: an empty list means the pipeline built and ran.
PipelineProbe = Callable[[ModelRepoLayout], list[str]]


class CriterionResult(BaseModel):
    """One criterion of the validation list, as judged from disk."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=0, le=6, description="1-6: the user's list; 0: for information")
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
    5: "The stale data directories are removed",
    6: "The old plan documents are removed",
}
ASSETS: dict[int, tuple[str, ...]] = {
    1: (Step.PIPELINE_CODE.value,),
    2: (Step.PIPELINE_DATA.value, Step.LEGACY_TOOLS_REMOVED.value),
    5: (Step.STALE_DATA_REMOVED.value,),
    6: (Step.SUPERSEDED_PLANS_REMOVED.value,),
}
# The criteria the tiers' gates answer, in the order the gates are given.
TIER_CRITERIA = (3, 4)
INFORMATION = 0
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
        assets=ASSETS.get(number, ()),
        passed=not problems,
        counts=counts or {},
        problems=tuple(problems),
        notes=tuple(notes),
        embedders=embedders or {},
    )


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
def layout_matches_target(
    layout: ModelRepoLayout, gates: Sequence[TierGate] = ()
) -> CriterionResult:
    findings = layout_findings(layout)
    mine = [
        f
        for f in findings
        if f.step in (Step.PIPELINE_DATA, Step.LEGACY_TOOLS_REMOVED)
        or (f.step is Step.PIPELINE_CODE and f.expected == "present")
    ]
    problems = _failed(mine)
    # The gating tiers' new folders (see the README's target layout); T4 is not a gate.
    for folder in (folder for gate in gates if gate.gating for folder in gate.folders(layout)):
        if not folder.is_dir():
            problems.append(f"{folder.relative_to(layout.root).as_posix()}: folder missing")
    # Kept folders are the user's; an absent one is worth saying but is not ours to fix.
    notes = [f"{f.path}: {f.detail}" for f in findings if f.expected == "kept" and not f.ok]
    counts = {
        "kept_folders_present": sum(1 for f in findings if f.expected == "kept" and f.ok),
        "pipeline_data_files": _files(layout.pipeline_data),
    }
    return _result(2, problems, counts, notes)


# -- 3 and 4: the tiers' own verdicts ------------------------------------------------------------
def tier_criterion(
    number: int, gate: TierGate, layout: ModelRepoLayout, registered: Sequence[str]
) -> CriterionResult:
    try:
        verdict = gate.judge(layout, registered)
    except (ValueError, OSError) as err:  # unreadable outputs are a failing criterion
        verdict = TierVerdict(problems=[f"unreadable outputs: {err}"])
    return CriterionResult(
        number=number,
        title=gate.title,
        assets=gate.assets,
        passed=not verdict.problems,
        counts=verdict.counts,
        problems=tuple(verdict.problems),
        notes=tuple(verdict.notes),
        embedders=verdict.embedders,
    )


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
    gates: Sequence[TierGate],
    registered: Mapping[str, Sequence[str]],
    *,
    probe: PipelineProbe = cargo_probe,
) -> list[CriterionResult]:
    """The six criteria in the order of the user's list, then the tiers that are not gates
    (number 0, for information). `registered`: partitions name -> registered keys."""
    gating = [gate for gate in gates if gate.gating]
    if len(gating) != len(TIER_CRITERIA):
        raise ValueError(
            f"readiness needs {len(TIER_CRITERIA)} gating tiers (T2, T3), got {len(gating)}"
        )
    tiers = [
        tier_criterion(number, gate, layout, registered.get(gate.partitions, []))
        for number, gate in zip(TIER_CRITERIA, gating, strict=True)
    ]
    information = [
        tier_criterion(INFORMATION, gate, layout, registered.get(gate.partitions, []))
        for gate in gates
        if not gate.gating
    ]
    return [
        pipeline_runs(layout, probe),
        layout_matches_target(layout, gates),
        *tiers,
        stale_data_removed(layout),
        old_plans_removed(layout),
        *information,
    ]


def gating(results: Sequence[CriterionResult]) -> list[CriterionResult]:
    return [r for r in results if r.number != INFORMATION]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_report(results: Sequence[CriterionResult]) -> str:
    """Markdown: a pass/fail table linked to each criterion's assets, then what is missing."""
    information = [r for r in results if r.number == INFORMATION]
    embedders: Counter[str] = Counter()
    for r in results:
        embedders.update(r.embedders)
    results = gating(results)
    done = sum(r.passed for r in results)
    verdict = "COMPLETE" if done == len(results) else "NOT READY"
    lines = [f"# Readiness: {verdict} ({done}/{len(results)} criteria pass)", ""]
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
    if information:
        lines += ["", "## For information (not a gate)", ""]
        lines += ["| tier | status | counts | assets |", "|---|---|---|---|"]
        for r in information:
            counts = ", ".join(f"{name}: {value}" for name, value in r.counts.items())
            links = " ".join(f"[{key}](/assets/{key})" for key in r.assets)
            status = "complete" if r.passed else "incomplete: " + _cell("; ".join(r.problems[:2]))
            lines.append(f"| {_cell(r.title)} | {status[:300]} | {counts} | {links} |")
    return "\n".join(lines) + "\n"
