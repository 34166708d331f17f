"""The readiness report's own checks, evaluated inside `readiness_report` from the same verdicts.

The groups' checks cover most of the validation list (reorganize: `pipeline_builds_and_runs`,
`layout_matches_design`, `no_data_lost`; each tier:
`every_recording_has_audio_segments_embeddings`; T2: `metadata_schema_holds`,
`every_recording_in_metadata`; T3: `maestro_piece_map_consistent`). What none of them looks
at is the target layout as a whole, the tiers' new folders included (criterion 2), and the
verdict over all six criteria.

Both are blocking, and both are evaluated in the report's own step, before it succeeds or fails:
so a failing report still shows, on its *Checks* tab, which criteria fail (checks defined apart
from the asset would be skipped when it fails, and show only "Execution failed").
"""

from collections.abc import Sequence

import dagster as dg

from piano_assets.readiness.criteria import CriterionResult

TARGET_LAYOUT_HOLDS = "target_layout_holds"
ALL_CRITERIA_PASS = "all_criteria_pass"  # noqa: S105 (a check name)
LAYOUT_CRITERION = 2


def readiness_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            TARGET_LAYOUT_HOLDS,
            asset=asset,
            blocking=True,
            description="Criterion 2 across the whole model repo: the moved pipeline and its "
            "data, tools/ gone, and the gating tiers' new folders (competition_cache/chopin2021/"
            "muq_embeddings, maestro_cache/muq_embeddings). Absent kept folders are noted, "
            "not failed.",
        ),
        dg.AssetCheckSpec(
            ALL_CRITERIA_PASS,
            asset=asset,
            blocking=True,
            description="All six gating criteria pass, judged from the model repo.",
        ),
    ]


def readiness_check_results(results: Sequence[CriterionResult]) -> list[dg.AssetCheckResult]:
    layout = next(r for r in results if r.number == LAYOUT_CRITERION)
    failing = [f"{r.number}. {r.title}" for r in results if not r.passed]
    verdict = "failing: " + "; ".join(failing) if failing else "all six criteria pass"
    return [
        dg.AssetCheckResult(
            check_name=TARGET_LAYOUT_HOLDS,
            passed=layout.passed,
            description="; ".join(layout.problems)
            or "the data directories match the target layout",
            metadata={**layout.counts, "notes": dg.MetadataValue.json(list(layout.notes))},
        ),
        dg.AssetCheckResult(
            check_name=ALL_CRITERIA_PASS,
            passed=not failing,
            description=verdict,
            metadata={
                "criteria_passed": len(results) - len(failing),
                "failing": dg.MetadataValue.json(failing),
            },
        ),
    ]
