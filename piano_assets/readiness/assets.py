"""`readiness_report`: one place in the UI that says whether the training data is complete.

It judges the user's six gating criteria from the files in the model repo (see `criteria.py`),
shows a markdown report (pass/fail, counts, links to each criterion's assets) and fails, naming
what is missing, unless all six pass: "complete" is a green materialization you can see.

Automation conditions (off by default)
--------------------------------------
The tiers and the report can be driven by `dg.AutomationCondition.eager()` ("downstream
eager": materialize when a parent updated and none of its parents is missing or in progress).
It is off unless the environment sets `PIANO_ASSETS_AUTOMATION=eager`:

* `readiness_report` takes the condition itself (below), so once the tiers update, the report
  refreshes on its own.
* `definitions.py` applies it to the T2 and T3 assets with `with_eager_automation`. The
  reorganize group never gets it: its moves and deletes stay a person's decision.
* Conditions are evaluated by the daemon's automation sensor (`default_automation_condition_sensor`,
  listed under Automation in the UI); run `dagster-daemon` (or `dagster dev`) and check it is
  running. Per-recording partitioned assets only update partitions that are registered, so
  pair eager automation with the catalog sensors in `sensors.py`.
"""

import os
from collections.abc import Iterator, Sequence

import dagster as dg

from piano_assets.chopin2021.partitions import CHOPIN2021_PARTITIONS_NAME
from piano_assets.readiness.checks import readiness_check_results, readiness_check_specs
from piano_assets.readiness.criteria import evaluate_readiness, render_report
from piano_assets.resources import ModelRepoResource

AUTOMATION_ENV = "PIANO_ASSETS_AUTOMATION"

# The last asset of each gated group (plus the pipeline moves the first criteria judge).
GATED_PARENTS: tuple[str, ...] = (
    "masterclass_pipeline_code",
    "masterclass_pipeline_data",
    "legacy_tools_removed",
    "stale_data_removed",
    "superseded_plans_removed",
    "chopin2021_metadata",
    "maestro_piece_performer_map",
)


def eager_automation_enabled() -> bool:
    return os.environ.get(AUTOMATION_ENV, "").strip().lower() == "eager"


def automation_condition() -> dg.AutomationCondition | None:
    """Downstream-eager automation when PIANO_ASSETS_AUTOMATION=eager, else none (default)."""
    return dg.AutomationCondition.eager() if eager_automation_enabled() else None


def with_eager_automation(
    assets: Sequence[dg.AssetsDefinition | dg.SourceAsset],
) -> list[dg.AssetsDefinition | dg.SourceAsset]:
    """The same assets, with `eager()` on every spec when the setting is on (unchanged if off).
    Observable source assets are left alone: they are observed, not materialized."""
    condition = automation_condition()
    if condition is None:
        return list(assets)
    return [
        asset.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=condition))
        if isinstance(asset, dg.AssetsDefinition) and asset.is_materializable
        else asset
        for asset in assets
    ]


@dg.asset(
    group_name="readiness",
    deps=list(GATED_PARENTS),
    automation_condition=automation_condition(),
    check_specs=readiness_check_specs("readiness_report"),
    description="The six gating criteria of the validation list, judged from the model repo; "
    "succeeds only when every one passes (T4 is not a gate).",
)
def readiness_report(
    context: dg.AssetExecutionContext, model_repo: ModelRepoResource
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    layout = model_repo.layout()
    registered = context.instance.get_dynamic_partitions(CHOPIN2021_PARTITIONS_NAME)
    results = evaluate_readiness(layout, chopin2021_registered=registered)
    report = render_report(results)
    for result in results:
        context.log.info(
            f"{result.number}. {result.title}: {'PASS' if result.passed else 'FAIL'} "
            + "; ".join(result.problems[:3])
        )
    # The checks first: they are recorded even when the report then fails.
    yield from readiness_check_results(results)
    failing = [r for r in results if not r.passed]
    if failing:
        raise dg.Failure(
            description="Not ready: "
            + "; ".join(f"{r.number}. {r.title} ({'; '.join(r.problems[:2])})" for r in failing),
            metadata={
                "report": dg.MetadataValue.md(report),
                "criteria_failing": dg.MetadataValue.json([r.number for r in failing]),
            },
        )
    yield dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(report),
            "criteria_passed": len(results),
            "criteria": dg.MetadataValue.json([r.model_dump(mode="json") for r in results]),
            "muq_embedders": dg.MetadataValue.json(
                sorted({label for r in results for label in r.embedders})
            ),
            "model_repo": dg.MetadataValue.path(str(layout.root)),
        }
    )


readiness_assets = [readiness_report]
