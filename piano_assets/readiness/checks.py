"""Readiness checks that the groups do not already provide.

The groups' own checks cover most of the validation list (reorganize: `pipeline_builds_and_runs`,
`layout_matches_design`, `no_data_lost`; T2: `metadata_schema_holds`,
`every_recording_has_audio_and_embeddings`; T3: `maestro_every_recording_embedded`,
`maestro_piece_map_consistent`). What none of them looks at is the target layout as a whole,
the tiers' new folders included (criterion 2), and the verdict over all six criteria.
Both are blocking: nothing that consumes the training data should run on an incomplete set.
"""

import dagster as dg

from piano_assets.competition.partitions import CHOPIN2021_PARTITIONS_NAME
from piano_assets.readiness.assets import readiness_report
from piano_assets.readiness.criteria import evaluate_readiness, layout_matches_target
from piano_assets.resources import ModelRepoResource


@dg.asset_check(
    asset=readiness_report,
    blocking=True,
    name="target_layout_holds",
    description="Criterion 2 across the whole model repo: the moved pipeline and its data, "
    "tools/ gone, and the tiers' new folders (competition_cache/chopin2021/muq_embeddings, "
    "maestro_cache/muq_embeddings). Absent kept folders are noted, not failed.",
)
def target_layout_holds(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
    result = layout_matches_target(model_repo.layout())
    return dg.AssetCheckResult(
        passed=result.passed,
        description="; ".join(result.problems) or "the data directories match the target layout",
        metadata={**result.counts, "notes": dg.MetadataValue.json(list(result.notes))},
    )


@dg.asset_check(
    asset=readiness_report,
    blocking=True,
    name="all_criteria_pass",
    description="All six gating criteria pass, judged again from the model repo.",
)
def all_criteria_pass(
    context: dg.AssetCheckExecutionContext, model_repo: ModelRepoResource
) -> dg.AssetCheckResult:
    registered = context.instance.get_dynamic_partitions(CHOPIN2021_PARTITIONS_NAME)
    results = evaluate_readiness(model_repo.layout(), chopin2021_registered=registered)
    failing = [f"{r.number}. {r.title}" for r in results if not r.passed]
    return dg.AssetCheckResult(
        passed=not failing,
        description="all six criteria pass" if not failing else "failing: " + "; ".join(failing),
        metadata={
            "criteria_passed": len(results) - len(failing),
            "failing": dg.MetadataValue.json(failing),
        },
    )


readiness_checks = [target_layout_holds, all_criteria_pass]
