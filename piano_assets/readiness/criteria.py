"""The user's validation list, as data: each criterion names the asset checks that decide it.

Dagster-free: given the latest outcome of each check, `evaluate` says which criteria pass and
renders the markdown report that the readiness asset shows.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckRef:
    asset: str
    check: str

    @property
    def label(self) -> str:
        return f"{self.asset}::{self.check}"


@dataclass(frozen=True)
class Criterion:
    number: int
    title: str
    checks: tuple[CheckRef, ...]


@dataclass(frozen=True)
class CheckOutcome:
    """Latest execution of one check: `passed` is None when it never ran to completion."""

    passed: bool | None
    severity: str = "ERROR"
    description: str = ""
    run_id: str = ""


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    outcomes: dict[str, CheckOutcome]

    @property
    def passed(self) -> bool:
        return all(outcome.passed is True for outcome in self.outcomes.values())


# T4 is not a gate. The numbering follows the user's validation list.
GATING_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        1,
        "The masterclass pipeline builds and runs from its new location",
        (CheckRef("masterclass_pipeline_code", "pipeline_builds_and_runs"),),
    ),
    Criterion(
        2,
        "The data directories match the target layout",
        (
            CheckRef("masterclass_pipeline_code", "layout_matches_design"),
            CheckRef("masterclass_pipeline_data", "layout_matches_design"),
            CheckRef("legacy_tools_removed", "layout_matches_design"),
            CheckRef("legacy_tools_removed", "no_data_lost"),
        ),
    ),
    Criterion(
        3,
        "T2 metadata is scraped and its MuQ embeddings are extracted",
        (
            CheckRef("chopin2021_results", "prize_list_is_official"),
            CheckRef("chopin2021_metadata", "metadata_schema_holds"),
            CheckRef("chopin2021_metadata", "every_recording_has_audio_and_embeddings"),
            CheckRef("chopin2021_metadata", "placements_agree_with_results"),
        ),
    ),
    Criterion(
        4,
        "T3 embeddings are extracted and the piece→performer map is built",
        (
            CheckRef("maestro_piece_performer_map", "maestro_every_recording_embedded"),
            CheckRef("maestro_piece_performer_map", "maestro_piece_map_consistent"),
        ),
    ),
    Criterion(
        5,
        "The stale data directories are removed",
        (
            CheckRef("stale_data_removed", "layout_matches_design"),
            CheckRef("stale_data_removed", "no_data_lost"),
        ),
    ),
    Criterion(
        6,
        "The old plan documents are removed",
        (
            CheckRef("superseded_plans_removed", "layout_matches_design"),
            CheckRef("superseded_plans_removed", "no_data_lost"),
        ),
    ),
)


def all_check_refs() -> list[CheckRef]:
    return [ref for criterion in GATING_CRITERIA for ref in criterion.checks]


def evaluate(outcomes: dict[str, CheckOutcome]) -> list[CriterionResult]:
    """Match each criterion with the latest outcome of its checks (missing = never ran)."""
    missing = CheckOutcome(passed=None, description="never ran")
    return [
        CriterionResult(c, {ref.label: outcomes.get(ref.label, missing) for ref in c.checks})
        for c in GATING_CRITERIA
    ]


def _mark(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "NOT RUN"}[passed]


def render_report(
    results: list[CriterionResult], embedder_label: str, counts: dict[str, int]
) -> str:
    done = sum(result.passed for result in results)
    lines = [
        f"# Readiness: {done}/{len(results)} criteria pass",
        "",
        f"MuQ: {embedder_label}",
        "",
        "| # | criterion | status | checks |",
        "|---|---|---|---|",
    ]
    for result in results:
        checks = "<br>".join(
            f"[{label}](/assets/{label.split('::')[0]}?view=checks): {_mark(outcome.passed)}"
            + (f" ({outcome.severity})" if outcome.passed is False else "")
            for label, outcome in result.outcomes.items()
        )
        status = "PASS" if result.passed else "FAIL"
        lines.append(
            f"| {result.criterion.number} | {result.criterion.title} | {status} | {checks} |"
        )
    if counts:
        lines += ["", "| count | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in counts.items()]
    failing = [
        f"- {label}: {outcome.description.strip()[:300]}"
        for result in results
        for label, outcome in result.outcomes.items()
        if outcome.passed is not True
    ]
    if failing:
        lines += ["", "## What is not passing", *failing]
    return "\n".join(lines) + "\n"
