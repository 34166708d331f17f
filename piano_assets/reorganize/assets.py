"""Group `reorganize`: the five steps of the user's cleanup as assets (thin wiring over `ops`).

With `model_repo.dry_run` set, each asset records its plan (every move and deletion, with
sizes) as an asset *observation* and materializes nothing, so nothing downstream takes a
plan for a finished step. The job `plan_reorganization` shows the plans of all five steps at
once; `purge_reorganize_trash` and `restore_reorganize_trash` empty or undo the trash.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg
from pydantic import Field

from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize.errors import ReorganizeError
from piano_assets.reorganize.ops import STEP_RUNNERS
from piano_assets.reorganize.plan import format_bytes
from piano_assets.reorganize.records import Step, StepOutcome, StepPlan
from piano_assets.reorganize.report import bullet_list, folder_table, outcome_summary, plan_table
from piano_assets.reorganize.trash import purge_trash, restore_trash
from piano_assets.resources import ModelRepoResource

GROUP = "reorganize"


def plan_metadata(plan: StepPlan) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "plan": dg.MetadataValue.md(plan_table(plan)),
        "plan_by_folder": dg.MetadataValue.md(folder_table(plan)),
    }
    if plan.blockers:
        metadata["blockers"] = dg.MetadataValue.md(bullet_list(plan.blockers))
    if plan.notes:
        metadata["notes"] = dg.MetadataValue.md(bullet_list(plan.notes))
    return metadata


def outcome_metadata(layout: ModelRepoLayout, outcome: StepOutcome) -> dict[str, Any]:
    metadata: dict[str, Any] = dict(outcome_summary(outcome))
    metadata.update(plan_metadata(outcome.plan))
    metadata.update(outcome.details)
    metadata["model_repo"] = dg.MetadataValue.path(str(layout.root))
    metadata["trash"] = dg.MetadataValue.path(str(layout.trash))
    return metadata


def _run_step(
    context: dg.AssetExecutionContext, model_repo: ModelRepoResource, step: Step
) -> Iterator[dg.MaterializeResult | dg.AssetObservation]:
    layout = model_repo.layout()
    try:
        outcome = STEP_RUNNERS[step](layout, dry_run=model_repo.dry_run, log=context.log)
    except ReorganizeError as err:
        metadata = plan_metadata(err.plan) if err.plan is not None else {}
        raise dg.Failure(description=str(err), metadata=metadata) from err
    metadata = outcome_metadata(layout, outcome)
    if outcome.dry_run:
        context.log.info(
            f"dry run: {len(outcome.plan.moves)} copies ({format_bytes(outcome.plan.move_bytes)}), "
            f"{len(outcome.plan.deletions)} deletions "
            f"({format_bytes(outcome.plan.deletion_bytes)}); nothing touched"
        )
        yield dg.AssetObservation(asset_key=step.value, metadata=metadata)
        return  # no materialization: a plan is not a finished step
    yield dg.MaterializeResult(metadata=metadata)


def _step_asset(
    step: Step, description: str, deps: Sequence[dg.AssetsDefinition | dg.AssetKey] = ()
) -> dg.AssetsDefinition:
    """One step of the cleanup as an asset named after the step (a plan only, on a dry run)."""

    @dg.asset(
        name=step.value,
        deps=list(deps),
        description=description,
        group_name=GROUP,
        output_required=False,
    )
    def run_step(
        context: dg.AssetExecutionContext, model_repo: ModelRepoResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetObservation]:
        yield from _run_step(context, model_repo, step)

    return run_step


masterclass_pipeline_code = _step_asset(
    Step.PIPELINE_CODE,
    "The masterclass pipeline's code, moved from tools/masterclass-pipeline/{src/,Cargo.toml,"
    ".claude/} to model/tools/masterclass-pipeline/ (hash-verified copies; other crate "
    "files such as Cargo.lock move too), with its default data directory rewritten to "
    "model/data/masterclass_pipeline (the original bytes stay in the trash).",
)
masterclass_pipeline_data = _step_asset(
    Step.PIPELINE_DATA,
    "The masterclass pipeline's data (sources.yaml, videos.jsonl, audio/, transcripts/, "
    "segments/, teaching_moments/, state/), moved from tools/masterclass-pipeline/data/ to "
    "model/data/masterclass_pipeline/ (hash-verified copies).",
)
legacy_tools_removed = _step_asset(
    Step.LEGACY_TOOLS_REMOVED,
    "tools/ removed (to the trash), only after every file under it was verified "
    "hash-equal at its destination. Files outside the mapping block it.",
    deps=[masterclass_pipeline_code, masterclass_pipeline_data],
)
stale_data_removed = _step_asset(
    Step.STALE_DATA_REMOVED,
    "The old model/data/competition_cache/ contents removed (to the trash) before the "
    "competition assets write the new ones, and model/data/percepiano_pianoteq_rendered/ "
    "removed only if percepiano_cache/muq_embeddings.pt loads with weights_only=True.",
    deps=[dg.AssetKey("percepiano_cache")],
)
superseded_plans_removed = _step_asset(
    Step.SUPERSEDED_PLANS_REMOVED,
    "docs/plans/2026-02-15-model-improvement-{design,implementation}.md removed (to the "
    "trash), each only once a newer plan of its kind exists and is committed (in a git "
    "repo: tracked and unmodified).",
)

reorganize_assets = [
    masterclass_pipeline_code,
    masterclass_pipeline_data,
    legacy_tools_removed,
    stale_data_removed,
    superseded_plans_removed,
]


# -- jobs: the whole plan, and the trash ------------------------------------------------------
@dg.op(description="Plan every reorganization step (dry run) and record each as an observation.")
def plan_reorganization_op(context: dg.OpExecutionContext, model_repo: ModelRepoResource) -> None:
    layout = model_repo.layout()
    for step, runner in STEP_RUNNERS.items():
        outcome = runner(layout, dry_run=True, log=context.log)
        context.log_event(
            dg.AssetObservation(asset_key=step.value, metadata=outcome_metadata(layout, outcome))
        )


@dg.job(
    name="plan_reorganization",
    description="Show what the reorganize group would move and delete; touches nothing.",
)
def plan_reorganization() -> None:
    plan_reorganization_op()


class TrashSelection(dg.Config):
    steps: list[str] = Field(default_factory=list, description="Steps to purge; empty: all.")
    confirm: bool = Field(default=False, description="Purging cannot be undone: say so.")


@dg.op(description="Delete trashed files for good (explicit; needs confirm: true).")
def purge_reorganize_trash_op(
    context: dg.OpExecutionContext, config: TrashSelection, model_repo: ModelRepoResource
) -> None:
    layout = model_repo.layout()
    dry_run = model_repo.dry_run or not config.confirm
    outcome = purge_trash(layout, steps=config.steps or None, dry_run=dry_run, log=context.log.info)
    verb = "would purge" if dry_run else "purged"
    context.log.info(f"{verb} {outcome.files} files ({format_bytes(outcome.bytes)})")
    if not config.confirm:
        raise dg.Failure(
            description=(
                f"nothing purged: set `confirm: true` in the run config to delete "
                f"{outcome.files} trashed files ({format_bytes(outcome.bytes)}) for good"
            ),
            metadata={"would_purge": dg.MetadataValue.md(bullet_list(list(outcome.paths)))},
        )


@dg.job(name="purge_reorganize_trash", description="Empty the reorganization's trash for good.")
def purge_reorganize_trash() -> None:
    purge_reorganize_trash_op()


class RestoreSelection(dg.Config):
    steps: list[str] = Field(default_factory=list, description="Steps to restore; empty: all.")


@dg.op(description="Put trashed files back where they were (never over a different file).")
def restore_reorganize_trash_op(
    context: dg.OpExecutionContext, config: RestoreSelection, model_repo: ModelRepoResource
) -> None:
    outcome = restore_trash(model_repo.layout(), steps=config.steps or None, log=context.log.info)
    context.log.info(f"restored {outcome.files} files ({format_bytes(outcome.bytes)})")


@dg.job(name="restore_reorganize_trash", description="Undo deletions: restore the trash.")
def restore_reorganize_trash() -> None:
    restore_reorganize_trash_op()


reorganize_jobs = [plan_reorganization, purge_reorganize_trash, restore_reorganize_trash]
