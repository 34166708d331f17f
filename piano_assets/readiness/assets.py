"""`readiness_report`: one place in the UI that says whether the training data is complete.

It reads the latest result of every gating check (see `criteria.py`) from the instance and
fails, listing what is missing, unless all six criteria pass. Materialize it after the tiers
(the main command does so last).

Automation: every asset here can run on `AutomationCondition.eager()` (downstream eager:
materialize when a parent updates). It is off by default; set
`PIANO_ASSETS_AUTOMATION=eager` and start the daemon's automation sensor to turn it on.
"""

import os

import dagster as dg

from piano_assets.readiness.criteria import CheckOutcome, all_check_refs, evaluate, render_report
from piano_assets.resources import ModelRepoResource, MuqEmbedderResource

GATED_PARENTS = [
    "masterclass_pipeline_code",
    "masterclass_pipeline_data",
    "legacy_tools_removed",
    "stale_data_removed",
    "superseded_plans_removed",
    "chopin2021_metadata",
    "maestro_piece_performer_map",
]


def automation_condition() -> dg.AutomationCondition | None:
    """Downstream-eager automation, only when PIANO_ASSETS_AUTOMATION=eager (off by default)."""
    if os.environ.get("PIANO_ASSETS_AUTOMATION", "").lower() == "eager":
        return dg.AutomationCondition.eager()
    return None


def latest_check_outcomes(instance: dg.DagsterInstance) -> dict[str, CheckOutcome]:
    refs = all_check_refs()
    keys = [dg.AssetCheckKey(dg.AssetKey(ref.asset), ref.check) for ref in refs]
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    outcomes: dict[str, CheckOutcome] = {}
    for ref, key in zip(refs, keys, strict=True):
        record = records.get(key)
        event = record.event.dagster_event if record and record.event else None
        evaluation = event.event_specific_data if event else None
        if isinstance(evaluation, dg.AssetCheckEvaluation):
            outcomes[ref.label] = CheckOutcome(
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                description=evaluation.description or "",
                run_id=record.run_id if record else "",
            )
    return outcomes


@dg.asset(
    group_name="readiness",
    deps=GATED_PARENTS,
    automation_condition=automation_condition(),
    description="Pass/fail of the user's six validation criteria; succeeds only when all pass.",
)
def readiness_report(
    context: dg.AssetExecutionContext, model_repo: ModelRepoResource, muq: MuqEmbedderResource
) -> dg.MaterializeResult:
    results = evaluate(latest_check_outcomes(context.instance))
    layout = model_repo.layout()
    counts = {
        "T2 embedding files": len(
            list((layout.chopin2021 / "muq_embeddings").glob("*.safetensors"))
        ),
        "T3 embedding files": len(
            list((layout.maestro_cache / "muq_embeddings").glob("*.safetensors"))
        ),
    }
    report = render_report(results, muq.get_embedder().label, counts)
    failing = [r.criterion for r in results if not r.passed]
    if failing:
        raise dg.Failure(
            description="Not ready: "
            + "; ".join(f"{c.number}. {c.title}" for c in failing)
            + ". See the report in this failure's metadata.",
            metadata={"report": dg.MetadataValue.md(report)},
        )
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(report),
            "criteria_passed": len(results),
            "model_repo": dg.MetadataValue.path(str(layout.root)),
        }
    )


readiness_assets = [readiness_report]
